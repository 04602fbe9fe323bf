import Foundation

/// Noise power per frequency bin, tracked frame by frame from the noisy spectrum alone: the MMSE
/// estimator with speech presence probability of Gerkmann & Hendriks (2012, "Unbiased MMSE-based
/// noise power estimation with low complexity and low tracking delay"). Each frame, the noise
/// power expected given the observation, P(H0|y)·|y|² + P(H1|y)·λ, is smoothed into λ; the
/// smoothed presence is capped at 0.99 so that λ can still rise under a lasting level change.
/// Causal and O(bins) per frame: it runs on streams.
struct NoisePowerTracker {
    /// A priori SNR assumed under speech presence (15 dB) and the smoothing constants of the paper.
    static let speechSNR: Float = 31.62, smoothing: Float = 0.8, presenceSmoothing: Float = 0.9
    /// The first frames only average into λ (a recording is assumed to start without speech).
    static let startFrames = 5

    private(set) var noise: [Float]
    private var presence: [Float]
    private var frames = 0

    init(bins: Int) {
        noise = [Float](repeating: 0, count: bins)
        presence = noise
    }

    /// Takes the next frame's power |y|² (bins `range`, of `power`) into the estimate.
    mutating func update(_ power: UnsafePointer<Float>, range: Range<Int>) {
        frames += 1
        let count = frames
        noise.withUnsafeMutableBufferPointer { noise in
            presence.withUnsafeMutableBufferPointer { presence in
                if count <= Self.startFrames {
                    let w = 1 / Float(count)
                    for k in range { noise[k] += (power[k] - noise[k]) * w }
                    return
                }
                let xi = Self.speechSNR, a = Self.smoothing, b = Self.presenceSmoothing
                let slope = xi / (1 + xi)
                for k in range {
                    let lambda = max(noise[k], Float.leastNormalMagnitude)
                    let exponent: Float = -min(power[k] / lambda * slope, 80)
                    var p: Float = 1 / (1 + (1 + xi) * expf(exponent))
                    presence[k] = b * presence[k] + (1 - b) * p
                    if presence[k] > 0.99 { p = min(p, 0.99) }
                    noise[k] = a * noise[k] + (1 - a) * ((1 - p) * power[k] + p * noise[k])
                }
            }
        }
    }
}
