import ArgumentParser
import DenoiseKit
import Foundation

/// The activation solve's options, shared by `run` and `separate` (which solve alike); the mask
/// power's default is each command's own.
struct SolveOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Multiplicative-update iterations for the activations.")
    var iterations = DenoiserOptions().iterations

    @Option(parsing: .unconditional, help: "Mel-spaced bands the activations are solved on (0: every STFT bin).")
    var bands = DenoiserOptions().bands

    @Option(parsing: .unconditional, help: "L1 penalty on the activations.")
    var sparsity: Float = 0

    @Option(parsing: .unconditional, help: "Exponent p of the mask(s) Sᵖ / Σ Sᵖ (default: 2 for run, 1 for separate).")
    var maskPower: Float?

    /// The solve for `jobs` files at once: with several, each solves on one thread.
    func denoiser(jobs: Int, gainFloor: Float, gainExponent: Float) -> DenoiserOptions {
        DenoiserOptions(iterations: iterations, maskPower: maskPower ?? DenoiserOptions().maskPower, sparsity: sparsity,
                        threads: Self.threads(jobs: jobs), bands: bands, gainFloor: gainFloor, gainExponent: gainExponent)
    }

    func separator(jobs: Int) -> SeparatorOptions {
        SeparatorOptions(iterations: iterations, maskPower: maskPower ?? SeparatorOptions().maskPower, sparsity: sparsity,
                         threads: Self.threads(jobs: jobs), bands: bands)
    }

    static func threads(jobs: Int) -> Int { jobs > 1 ? 1 : ProcessInfo.processInfo.activeProcessorCount }
}

/// A comma-separated list of numbers (`--snrs -5,0,5,10`).
struct NumberList: ExpressibleByArgument {
    var values: [Float]

    init?(argument: String) {
        let parts = argument.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, !parts.contains(nil) else { return nil }
        values = parts.map { $0! }
    }

    init(_ values: [Float]) { self.values = values }

    var defaultValueDescription: String { values.map { String(format: "%g", $0) }.joined(separator: ",") }
}

/// The layout of `-` streams: a WAV stream, or raw little-endian PCM of one encoding.
enum StreamLayout: String, ExpressibleByArgument, CaseIterable {
    case wav, u8, s16, s24, s32, f32

    /// The raw encoding (nil for WAV).
    var encoding: AudioFormat.Encoding? { self == .wav ? nil : AudioFormat.Encoding(rawValue: rawValue) }
}

/// `run --bandwidth`: detected per file, the whole band, or a frequency in Hz.
enum BandwidthChoice: ExpressibleByArgument, Equatable {
    case auto, full, hz(Double)

    init?(argument: String) {
        switch argument {
        case "auto": self = .auto
        case "full": self = .full
        default:
            guard let hz = Double(argument), hz > 0, hz.isFinite else { return nil }
            self = .hz(hz)
        }
    }
}
