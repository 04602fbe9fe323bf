import Foundation

/// The band of an input above the model's (8-24 kHz of a 48 kHz file), cleaned as it arrives.
///
/// The band is split off exactly: the input minus the input taken to the model's rate and back (the
/// same linear-phase, delay-compensated conversions as the model's path, so the parts sum to the
/// input). It is cleaned by a statistical suppressor of its own, on an STFT of the model's frame
/// duration at the input's rate: noise power tracked per bin (`NoisePowerTracker`), a Wiener gain
/// from the decision-directed a priori SNR (Ephraim & Malah), floored at `floor`. No dictionary
/// covers the band, and the model's gain of its top octave is a poor guide to it: carried over, it
/// left the band 8-15 dB below the clean speech's on the 48 kHz pairs (`README`, "Full band").
/// The latency is one window of the band's STFT, as long as the model's.
final class UpperBand {
    /// Decision-directed smoothing and the lowest gain. (48 kHz: floor 0.05 and 0.02 at smoothing
    /// 0.95, 0.1 at 0.9, 0.02 at 0.98 gave fullband HB-SNR 14.2 / 14.1 / 14.7 / 13.3 dB and, with
    /// strong noise above 8 kHz, ΔHB-SNR +12.6 / +13.4 / +10.7 / +13.5 dB.)
    static let smoothing: Float = 0.95, floor: Float = 0.02
    /// Bins below this fraction of the model's Nyquist frequency (7 kHz of 8) hold nothing of the
    /// band but the conversions' transition: left as they are.
    static let lowestFraction = 0.875

    private let lower: ResamplerStream
    /// Input samples still waiting for their lower part.
    private var unsplit: [Float] = []
    private let stft: STFT
    private let fft: STFT.Buffers
    private let hop: Int, pad: Int, first: Int
    /// The band from sample `inputOrigin` on, and its cleaned overlap-add from `outputOrigin` on.
    private var input: [Float] = [], output: [Float] = []
    private var inputOrigin = 0, outputOrigin = 0
    private var received = 0, nextFrame = 0, released = 0
    private var tracker: NoisePowerTracker
    /// |cleaned|² of the last frame (the decision-directed estimate), one frame's spectrum and power.
    private var previous: [Float], re: [Float], im: [Float], power: [Float]

    init(denoiser: Denoiser, inputRate: Int) throws(DenoiseError) {
        lower = try ResamplerStream(from: denoiser.sampleRate, to: inputRate)
        // The model's window and hop in seconds, at the input's rate.
        let model = denoiser.configuration
        let n = max(16, Int((Double(model.nFFT) * Double(inputRate) / Double(denoiser.sampleRate)).rounded()) / 2 * 2)
        stft = try STFT(STFTConfiguration(nFFT: n, hop: max(1, n * model.hop / model.nFFT)))
        fft = stft.makeBuffers()
        hop = stft.hop
        pad = stft.configuration.leadingPadding
        let bins = stft.bins
        first = min(Int(Self.lowestFraction * Double(denoiser.sampleRate) / 2 * Double(n) / Double(inputRate)), bins)
        tracker = NoisePowerTracker(bins: bins)
        previous = [Float](repeating: 0, count: bins)
        re = previous; im = previous; power = previous
    }

    /// The next input samples, and what the model's path made of them at its rate.
    func add(input samples: [Float], atModelRate: [Float]) {
        unsplit += samples
        split(atModelRate.withUnsafeBufferPointer { lower.process($0) })
        // Frames 0 ..< received / hop are complete; samples before the next frame's start are final.
        run(toFrame: received / hop, releaseTo: (received / hop) * hop - pad)
    }

    /// The end of the input (`inputFrames` in all): the rest of the lower part, the band cut to
    /// length, and the last frames.
    func finish(inputFrames: Int) {
        split(lower.finish())
        input += unsplit  // a sample the rounded conversions did not return has no lower part
        received += unsplit.count
        unsplit = []
        input.fit(count: input.count + inputFrames - received)
        received = inputFrames
        run(toFrame: stft.configuration.frameCount(samples: received), releaseTo: received)
    }

    /// Cleaned samples ready to be taken.
    var ready: Int { released - outputOrigin }

    /// The next `n` cleaned samples (at most `ready`).
    func take(_ n: Int) -> [Float] {
        let out = Array(output[..<n])
        output.removeFirst(n)
        outputOrigin += n
        return out
    }

    private func split(_ lowerPart: [Float]) {
        let m = min(lowerPart.count, unsplit.count)
        guard m > 0 else { return }
        input.reserveCapacity(input.count + m)
        for i in 0..<m { input.append(unsplit[i] - lowerPart[i]) }
        unsplit.removeFirst(m)
        received += m
    }

    private func run(toFrame end: Int, releaseTo limit: Int) {
        if end > nextFrame {
            let needed = end * hop - outputOrigin
            if output.count < needed { output += repeatElement(0, count: needed - output.count) }
            input.withUnsafeBufferPointer { x in
                output.withUnsafeMutableBufferPointer { y in
                    re.withUnsafeMutableBufferPointer { pr in
                        im.withUnsafeMutableBufferPointer { pi in
                            while nextFrame < end {
                                stft.analyze(x, origin: inputOrigin, firstFrame: nextFrame, count: 1, re: pr.baseAddress!, im: pi.baseAddress!, buffers: fft)
                                suppress(re: pr.baseAddress!, im: pi.baseAddress!)
                                stft.synthesize(re: pr.baseAddress!, im: pi.baseAddress!, firstFrame: nextFrame, count: 1, into: y, origin: outputOrigin, buffers: fft)
                                nextFrame += 1
                            }
                        }
                    }
                }
            }
            let drop = min(max(nextFrame * hop - pad - inputOrigin, 0), input.count)
            input.removeFirst(drop)
            inputOrigin += drop
        }
        released = max(released, min(limit, outputOrigin + output.count))
    }

    /// One frame's Wiener gain, bin by bin above `first`.
    private func suppress(re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>) {
        let bins = stft.bins, first = self.first, a = Self.smoothing, floor = Self.floor
        power.withUnsafeMutableBufferPointer { p in
            for k in first..<bins { p[k] = re[k] * re[k] + im[k] * im[k] }
            tracker.update(p.baseAddress!, range: first..<bins)
            tracker.noise.withUnsafeBufferPointer { noise in
                previous.withUnsafeMutableBufferPointer { previous in
                    for k in first..<bins {
                        let lambda = max(noise[k], Float.leastNormalMagnitude)
                        let prior = a * previous[k] / lambda + (1 - a) * max(p[k] / lambda - 1, 0)
                        let g = prior.isFinite ? max(prior / (1 + prior), floor) : 1
                        re[k] *= g
                        im[k] *= g
                        previous[k] = g * g * p[k]
                    }
                }
            }
        }
    }
}
