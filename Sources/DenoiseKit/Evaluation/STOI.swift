import Foundation

/// Short-time objective intelligibility (Taal, Hendriks, Heusdens & Jensen 2011), computed as
/// pystoi 0.3 does: 10 kHz, silent frames of the clean signal removed (40 dB range), 256-sample
/// Hann frames with 50 % overlap, 512-point FFT, 15 one-third-octave bands from 150 Hz, 30-frame
/// segments, clipping at −15 dB SDR. Differences: the resampler (libsoxr instead of scipy's
/// polyphase filter), within 0.01 on real speech.
enum STOI {
    static let rate = 10000, frame = 256, hop = 128, fftSize = 512, bands = 15, minFrequency = 150.0
    static let segment = 30, beta = -15.0, dynamicRange = 40.0
    static let eps = Double.ulpOfOne

    static func score(clean: [Float], processed: [Float], sampleRate: Int) throws(DenoiseError) -> Double {
        var x = try Resampler.resample(clean, from: sampleRate, to: rate)
        var y = try Resampler.resample(processed, from: sampleRate, to: rate)
        (x, y) = removeSilentFrames(x, y)
        let xb = bandEnvelopes(x), yb = bandEnvelopes(y)
        let frames = xb.count / bands
        // pystoi's answer when too little speech is left.
        guard frames >= segment else { return 1e-5 }
        let clip = pow(10, -beta / 20)
        var total = 0.0
        var xs = [Double](repeating: 0, count: segment), ys = xs
        for end in segment...frames {
            for j in 0..<bands {
                for m in 0..<segment {
                    xs[m] = xb[(end - segment + m) * bands + j]
                    ys[m] = yb[(end - segment + m) * bands + j]
                }
                let scale = norm(xs) / (norm(ys) + eps)
                for m in 0..<segment { ys[m] = min(ys[m] * scale, xs[m] * (1 + clip)) }
                total += correlation(xs, ys)
            }
        }
        return total / Double((frames - segment + 1) * bands)
    }

    /// MATLAB's hanning(n): 0.5 − 0.5·cos(2πk/(n+1)), k = 1…n.
    static let window: [Double] = (1...frame).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(frame + 1)) }

    /// Frames (hop 128, the last partial one dropped) of x within 40 dB of its loudest, overlap-added
    /// back windowed, and the same frames of y.
    static func removeSilentFrames(_ x: [Float], _ y: [Float]) -> ([Float], [Float]) {
        let starts = Array(stride(from: 0, to: x.count - frame, by: hop))
        let energies = starts.map { start -> Double in
            var e = 0.0
            for i in 0..<frame { let v = window[i] * Double(x[start + i]); e += v * v }
            return 20 * log10(e.squareRoot() + eps)
        }
        let loudest = energies.max() ?? 0
        let kept = starts.indices.filter { loudest - dynamicRange - energies[$0] < 0 }.map { starts[$0] }
        guard !kept.isEmpty else { return ([], []) }
        let length = (kept.count - 1) * hop + frame
        var xo = [Double](repeating: 0, count: length), yo = xo
        for (k, start) in kept.enumerated() {
            for i in 0..<frame {
                xo[k * hop + i] += window[i] * Double(x[start + i])
                yo[k * hop + i] += window[i] * Double(start + i < y.count ? y[start + i] : 0)
            }
        }
        return (xo.map(Float.init), yo.map(Float.init))
    }

    /// One-third-octave band magnitudes [frames × bands], frame-major.
    static func bandEnvelopes(_ x: [Float]) -> [Double] {
        let fft = RealFFT(size: fftSize)
        let edges = bandEdges()
        var power = [Double](repeating: 0, count: fft.bins)
        var windowed = [Float](repeating: 0, count: frame)
        var out: [Double] = []
        for start in stride(from: 0, to: x.count - frame, by: hop) {
            for i in 0..<frame { windowed[i] = Float(window[i] * Double(x[start + i])) }
            windowed.withUnsafeBufferPointer { w in power.withUnsafeMutableBufferPointer { fft.powerSpectrum(w, into: $0.baseAddress!) } }
            for (lo, hi) in edges {
                var s = 0.0
                for k in lo..<hi { s += power[k] }
                out.append(s.squareRoot())
            }
        }
        return out
    }

    /// FFT bins [lo, hi) of each band: the bins nearest the band's edge frequencies, as pystoi's thirdoct.
    static func bandEdges() -> [(Int, Int)] {
        let binHz = Double(rate) / Double(fftSize), bins = fftSize / 2 + 1
        func nearest(_ f: Double) -> Int { min(max(Int((f / binHz).rounded(.toNearestOrEven)), 0), bins - 1) }
        return (0..<bands).map { k in
            (nearest(minFrequency * pow(2, (2 * Double(k) - 1) / 6)), nearest(minFrequency * pow(2, (2 * Double(k) + 1) / 6)))
        }
    }

    static func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// Correlation of the mean-removed vectors (each normalized with pystoi's ε).
    static func correlation(_ a: [Double], _ b: [Double]) -> Double {
        let ma = a.reduce(0, +) / Double(a.count), mb = b.reduce(0, +) / Double(b.count)
        var ab = 0.0, aa = 0.0, bb = 0.0
        for i in a.indices {
            let u = a[i] - ma, v = b[i] - mb
            ab += u * v; aa += u * u; bb += v * v
        }
        return ab / ((aa.squareRoot() + eps) * (bb.squareRoot() + eps))
    }
}
