import Foundation

/// Objective measures of an estimate of clean speech, as `denoise eval` prints them.
public struct QualityScores: Sendable, Equatable {
    /// Scale-invariant signal-to-distortion ratio (dB).
    public var siSDR: Double
    /// Signal-to-noise ratio of the estimate against the reference (dB).
    public var snr: Double
    /// Mean per-frame SNR over 32 ms frames of the reference's active speech, each clipped to [−10, 35] dB.
    public var segmentalSNR: Double
    /// Short-time objective intelligibility (Taal et al. 2011), as pystoi computes it.
    public var stoi: Double
}

public enum Metrics {
    /// Every score of `estimate` against `reference` (same rate; the shorter length is used).
    public static func scores(reference: [Float], estimate: [Float], sampleRate: Int) throws(DenoiseError) -> QualityScores {
        let n = min(reference.count, estimate.count)
        let r = Array(reference[..<n]), e = Array(estimate[..<n])
        return QualityScores(siSDR: siSDR(reference: r, estimate: e), snr: snr(reference: r, estimate: e),
                             segmentalSNR: segmentalSNR(reference: r, estimate: e, sampleRate: sampleRate),
                             stoi: try STOI.score(clean: r, processed: e, sampleRate: sampleRate))
    }

    /// 10·log10(‖αs‖² / ‖αs − ŝ‖²) with α = ⟨ŝ, s⟩ / ‖s‖² (Le Roux et al. 2019).
    public static func siSDR(reference s: [Float], estimate e: [Float]) -> Double {
        var se = 0.0, ss = 0.0
        for i in 0..<min(s.count, e.count) { se += Double(s[i]) * Double(e[i]); ss += Double(s[i]) * Double(s[i]) }
        let alpha = se / max(ss, .leastNormalMagnitude)
        var target = 0.0, residual = 0.0
        for i in 0..<min(s.count, e.count) {
            let t = alpha * Double(s[i]), d = t - Double(e[i])
            target += t * t
            residual += d * d
        }
        return decibels(target, residual)
    }

    /// 10·log10(‖s‖² / ‖s − ŝ‖²).
    public static func snr(reference s: [Float], estimate e: [Float]) -> Double {
        var signal = 0.0, error = 0.0
        for i in 0..<min(s.count, e.count) {
            let d = Double(s[i]) - Double(e[i])
            signal += Double(s[i]) * Double(s[i])
            error += d * d
        }
        return decibels(signal, error)
    }

    /// Mean of per-frame SNRs clipped to [−10, 35] dB, over non-overlapping 32 ms frames whose
    /// reference energy is within 40 dB of the loudest frame's (silence would only add −10s).
    public static func segmentalSNR(reference s: [Float], estimate e: [Float], sampleRate: Int) -> Double {
        let frame = max(sampleRate * 32 / 1000, 1), count = min(s.count, e.count) / frame
        guard count > 0 else { return snr(reference: s, estimate: e).clamped(to: -10...35) }
        var energies = [Double](repeating: 0, count: count), errors = energies
        for t in 0..<count {
            for i in (t * frame)..<((t + 1) * frame) {
                let d = Double(s[i]) - Double(e[i])
                energies[t] += Double(s[i]) * Double(s[i])
                errors[t] += d * d
            }
        }
        let loudest = energies.max() ?? 0
        let active = (0..<count).filter { energies[$0] > loudest * 1e-4 && energies[$0] > 0 }
        guard !active.isEmpty else { return -10 }
        return active.map { decibels(energies[$0], errors[$0]).clamped(to: -10...35) }.reduce(0, +) / Double(active.count)
    }

    static func decibels(_ signal: Double, _ noise: Double) -> Double {
        10 * log10(max(signal, 1e-20) / max(noise, 1e-20))
    }
}
