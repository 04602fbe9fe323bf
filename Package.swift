// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "denoise",
    products: [
        .executable(name: "denoise", targets: ["denoise"]),
        .library(name: "DenoiseKit", targets: ["DenoiseKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries, each wrapped by exactly one file of DenoiseKit.
        .systemLibrary(name: "CSndFile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3f", providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CSoxr", pkgConfig: "soxr", providers: [.apt(["libsoxr-dev"])]),
        // Drawing and PNG (spectrogram pictures, `denoise plot`).
        .systemLibrary(name: "CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),

        .target(
            name: "DenoiseKit",
            dependencies: ["CSndFile", "CFFTW", "COpenBLAS", "CSoxr", "CCairo"],
            // Each folder's README says what it owns and what it may use.
            exclude: ["Audio/README.md", "Spectral/README.md", "Linalg/README.md", "NMF/README.md", "Model/README.md",
                      "Enhancement/README.md", "Training/README.md", "Evaluation/README.md", "Plot/README.md",
                      "Report/README.md", "Support/README.md"]
        ),
        .executableTarget(
            name: "denoise",
            dependencies: [
                "DenoiseKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `make bench`: speed and memory figures, on audio it makes itself (release build).
        .executableTarget(name: "denoise-bench", dependencies: ["DenoiseKit"]),
        .testTarget(name: "DenoiseKitTests", dependencies: ["DenoiseKit"]),
        // Runs the built `denoise` binary as a subprocess; depends on it so it is built first.
        .testTarget(name: "denoiseTests", dependencies: ["denoise", "DenoiseKit"]),
    ]
)
