import Foundation
@testable import DenoiseKit

/// Slow, obvious reference implementations and seeded test data.

func randomMatrix(rows: Int, cols: Int, seed: UInt64, range: ClosedRange<Float> = 0...1) -> Matrix {
    var rng = SeededGenerator(seed: seed)
    var m = Matrix(rows: rows, cols: cols)
    for i in 0..<m.count { m.storage[i] = range.lowerBound + (range.upperBound - range.lowerBound) * rng.nextUnitFloat() }
    return m
}

func randomSignal(count: Int, seed: UInt64, amplitude: Float = 0.5) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in amplitude * (2 * rng.nextUnitFloat() - 1) }
}

/// op(A)·op(B) by the definition, in double precision.
func naiveProduct(_ a: Matrix, _ b: Matrix, transposeA: Bool = false, transposeB: Bool = false) -> Matrix {
    let m = transposeA ? a.cols : a.rows, k = transposeA ? a.rows : a.cols, n = transposeB ? b.rows : b.cols
    var c = Matrix(rows: m, cols: n)
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0
            for l in 0..<k {
                let x = transposeA ? a[l, i] : a[i, l]
                let y = transposeB ? b[j, l] : b[l, j]
                s += Double(x) * Double(y)
            }
            c[i, j] = Float(s)
        }
    }
    return c
}

/// d_β(x | y) summed, straight from the definition, in double precision.
func referenceBetaDivergence(_ v: Matrix, _ model: Matrix, beta: Double) -> Double {
    var s = 0.0
    for i in 0..<v.count {
        let x = Double(v.storage[i]), y = Double(model.storage[i])
        if beta == 0 { s += x / y - log(x / y) - 1 }
        else if beta == 1 { s += x * log(x / y) - x + y }
        else { s += (pow(x, beta) + (beta - 1) * pow(y, beta) - beta * x * pow(y, beta - 1)) / (beta * (beta - 1)) }
    }
    return s
}

/// The DFT of `x` bins 0...n/2, by the definition, in double precision.
func naiveDFT(_ x: [Double]) -> [(re: Double, im: Double)] {
    let n = x.count
    return (0...(n / 2)).map { k in
        var re = 0.0, im = 0.0
        for t in 0..<n {
            let phase = -2 * Double.pi * Double(k * t % n) / Double(n)
            re += x[t] * cos(phase)
            im += x[t] * sin(phase)
        }
        return (re, im)
    }
}

/// Error energy relative to signal energy, in dB (higher is better).
func snrDB(reference: [Double], estimate: [Double]) -> Double {
    var signal = 0.0, error = 0.0
    for (r, e) in zip(reference, estimate) { signal += r * r; error += (r - e) * (r - e) }
    return 10 * log10(signal / max(error, 1e-300))
}

/// Scale-invariant signal-to-distortion ratio in dB.
func siSDR(reference: [Float], estimate: [Float]) -> Double {
    let n = min(reference.count, estimate.count)
    let r = reference[..<n].map(Double.init), e = estimate[..<n].map(Double.init)
    let mr = r.reduce(0, +) / Double(n), me = e.reduce(0, +) / Double(n)
    let rc = r.map { $0 - mr }, ec = e.map { $0 - me }
    let a = zip(ec, rc).reduce(0) { $0 + $1.0 * $1.1 } / max(rc.reduce(0) { $0 + $1 * $1 }, 1e-300)
    let target = rc.map { a * $0 }
    return snrDB(reference: target, estimate: ec)
}

func temporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("denoise-tests-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// `../shared/corpus` beside the repository, when present.
let sharedCorpus: URL? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../../shared/corpus").standardized
    return FileManager.default.fileExists(atPath: root.appendingPathComponent("mixtures/manifest.csv").path) ? root : nil
}()
