import Foundation

/// Cleans interleaved audio at any sample rate as it arrives: per channel, conversion to the
/// dictionaries' rate, a `DenoiserStream`, and conversion back. Above the model's rate the band the
/// model does not cover (8-24 kHz of a 48 kHz file) is kept, cleaned by an `UpperBand`. After
/// `finish` the output has exactly as many frames as the input.
public final class CleaningPipeline {
    public let channelCount: Int
    private let streams: [DenoiserStream]
    private let toModel: [ResamplerStream], fromModel: [ResamplerStream]
    /// One per channel when the input's rate is above the model's.
    private let upper: [UpperBand]?
    /// Cleaned samples per channel not yet returned (channels can differ only transiently).
    private var pending: [[Float]]
    private var consumedFrames = 0, emittedFrames = 0

    /// `known`: the activations of the recording's first frames (`Denoiser.fitBeginning` of its
    /// signal), taken for a mono input at the model's rate, which the stream sees sample for sample
    /// as the fit did.
    public init(denoiser: Denoiser, sampleRate: Int, channels: Int, known: KnownActivations? = nil) throws(DenoiseError) {
        guard channels >= 1 else { throw .invalidParameter("at least one channel is needed") }
        channelCount = channels
        let fullBand = sampleRate > denoiser.sampleRate
        // The channels run in turn: one block's working memory serves them all.
        let scratch = Denoiser.BlockBuffers(denoiser)
        let reusable = channels == 1 && sampleRate == denoiser.sampleRate ? known : nil
        streams = (0..<channels).map { _ in DenoiserStream(denoiser, scratch: scratch, known: reusable) }
        var to: [ResamplerStream] = [], from: [ResamplerStream] = [], upper: [UpperBand] = []
        for _ in 0..<channels {
            to.append(try ResamplerStream(from: sampleRate, to: denoiser.sampleRate))
            from.append(try ResamplerStream(from: denoiser.sampleRate, to: sampleRate))
            if fullBand { upper.append(try UpperBand(denoiser: denoiser, inputRate: sampleRate)) }
        }
        toModel = to
        fromModel = from
        self.upper = fullBand ? upper : nil
        pending = Array(repeating: [], count: channels)
    }

    /// Adds interleaved frames; returns the interleaved cleaned frames they complete.
    public func process(_ interleaved: UnsafeBufferPointer<Float>) -> [Float] {
        let frames = interleaved.count / channelCount
        consumedFrames += frames
        var channel = [Float](repeating: 0, count: frames)
        for c in 0..<channelCount {
            channel.withUnsafeMutableBufferPointer { dst in
                for i in 0..<frames { dst[i] = interleaved[i * channelCount + c] }
            }
            let atModelRate = channel.withUnsafeBufferPointer { toModel[c].process($0) }
            // The upper band is cleaned on another thread while the model's stream runs: its work
            // (a conversion, an STFT, the tracker) would otherwise add to the stream's serial part
            // (48 kHz, 10-minute file: 1.52× the time without the band in turn, 1.3× so).
            let band = DispatchGroup()
            if let upper {
                let job = UnsafeSendable((upper[c], channel, atModelRate))
                DispatchQueue.global().async(group: band) { job.value.0.add(input: job.value.1, atModelRate: job.value.2) }
            }
            let cleaned = atModelRate.withUnsafeBufferPointer { streams[c].push($0) }
            band.wait()
            pending[c] += cleaned.withUnsafeBufferPointer { fromModel[c].process($0) }
        }
        return drain(limit: consumedFrames)
    }

    /// Flushes every stage; returns the last frames (the total equals the input's frame count).
    public func finish() -> [Float] {
        for c in 0..<channelCount {
            let tail = toModel[c].finish()
            upper?[c].add(input: [], atModelRate: tail)
            var cleaned = tail.withUnsafeBufferPointer { streams[c].push($0) }
            cleaned += streams[c].finish()
            upper?[c].finish(inputFrames: consumedFrames)
            pending[c] += cleaned.withUnsafeBufferPointer { fromModel[c].process($0) }
            pending[c] += fromModel[c].finish()
            // Rounding in the two conversions can be a sample off: keep the input's length exactly.
            pending[c].fit(count: consumedFrames - emittedFrames)
        }
        return drain(limit: consumedFrames)
    }

    /// Interleaves the frames every channel has (with its upper band, where there is one), never
    /// more than the input so far.
    private func drain(limit: Int) -> [Float] {
        var n = min(pending.map(\.count).min() ?? 0, limit - emittedFrames)
        if let upper { n = min(n, upper.map(\.ready).min() ?? 0) }
        guard n > 0 else { return [] }
        var out = [Float](repeating: 0, count: n * channelCount)
        out.withUnsafeMutableBufferPointer { dst in
            for c in 0..<channelCount {
                pending[c].withUnsafeBufferPointer { src in
                    for i in 0..<n { dst[i * channelCount + c] = src[i] }
                }
                pending[c].removeFirst(n)
                if let band = upper?[c].take(n) {
                    for i in 0..<n { dst[i * channelCount + c] += band[i] }
                }
            }
        }
        emittedFrames += n
        return out
    }
}
