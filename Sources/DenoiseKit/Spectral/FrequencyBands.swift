import Foundation

/// Contiguous groups of STFT bins whose magnitudes are summed: a mel-spaced frequency axis that
/// keeps single bins where bands would be narrower than one (below about 250 Hz for 128 bands at
/// 16 kHz) and merges more bins as frequency rises (2 at 1 kHz, 5 at 3 kHz, 8 at 6 kHz). Solving
/// activations on bands instead of bins makes each iteration cheaper by bins/bands; sum pooling
/// keeps the model's scale (C·W·H = (C·W)·H). Bands may cover only the lower part of the spectrum
/// (`limited`): the solve of a band-limited input leaves out the bands it holds nothing in.
public struct FrequencyBands: Sendable, Equatable {
    /// First bin of each band, then one past the last bin pooled: `count + 1` edges.
    public let edges: [Int]
    /// Bins of the spectra pooled (their column length): `edges.last` unless the bands are limited.
    public let bins: Int
    public var count: Int { edges.count - 1 }

    init(edges: [Int], bins: Int) {
        precondition(edges.count >= 2 && edges.first == 0 && edges.last! <= bins && zip(edges, edges.dropFirst()).allSatisfy { $0 < $1 })
        self.edges = edges
        self.bins = bins
    }

    /// Every bin its own band, up to (not including) `upTo`: the every-bin solve, limited.
    public static func single(bins: Int, upTo: Int) -> FrequencyBands {
        FrequencyBands(edges: Array(0...max(1, min(upTo, bins))), bins: bins)
    }

    /// The bands that start below bin `cutoff` (at least one): the band holding the cutoff is kept
    /// whole, so no band is cut in two and the kept ones pool exactly as before.
    public func limited(below cutoff: Int) -> FrequencyBands {
        let kept = max(1, edges.dropLast().filter { $0 < cutoff }.count)
        return FrequencyBands(edges: Array(edges[0...kept]), bins: bins)
    }

    /// At most `bands` bands over `bins` bins of an STFT at `sampleRate` Hz.
    public init(bins: Int, bands: Int, sampleRate: Int) {
        precondition(bins >= 1 && bands >= 1)
        func mel(_ f: Double) -> Double { 2595 * log10(1 + f / 700) }
        let nyquist = Double(sampleRate) / 2, top = mel(nyquist)
        var edges = [0]
        for b in 1..<bands {
            let hz = 700 * (pow(10, top * Double(b) / Double(bands) / 2595) - 1)
            // The edge's bin, at least one past the previous edge, and leaving room for the rest.
            let bin = Int((hz / nyquist * Double(bins - 1)).rounded())
            let edge = min(max(bin, edges.last! + 1), bins - 1)
            if edge > edges.last! { edges.append(edge) }
        }
        edges.append(bins)
        self.edges = edges
        self.bins = bins
    }

    /// `out` [count × frames] = band sums of `v` [bins × frames].
    func pool(_ v: UnsafePointer<Float>, frames: Int, into out: UnsafeMutablePointer<Float>) {
        let bins = self.bins, count = self.count
        edges.withUnsafeBufferPointer { e in
            for t in 0..<frames {
                let col = v + t * bins, o = out + t * count
                for b in 0..<count {
                    var s: Float = 0
                    for f in e[b]..<e[b + 1] { s += col[f] }
                    o[b] = s
                }
            }
        }
    }

    /// The band sums of every column of `m` [bins × cols].
    public func pool(_ m: Matrix) -> Matrix {
        precondition(m.rows == bins, "\(m.rows) rows, bands cover \(bins) bins")
        var out = Matrix(rows: count, cols: m.cols)
        m.storage.withUnsafeBufferPointer { src in
            out.storage.withUnsafeMutableBufferPointer { dst in
                if m.cols > 0 { pool(src.baseAddress!, frames: m.cols, into: dst.baseAddress!) }
            }
        }
        return out
    }
}
