import Foundation

/// Separates interleaved audio at any sample rate as it arrives: per channel, conversion to the
/// dictionaries' rate, a `SeparatorStream`, and each source converted back. Above the model's rate,
/// the band the dictionaries do not cover (the input minus the input taken to the model's rate and
/// back, split exactly as `UpperBand` does) goes whole to one source, `upperBandSource`: the
/// conversions are linear, so the sources still sum to the input. After `finish` every source has
/// exactly as many frames as the input.
public final class SeparationPipeline {
    public let channelCount: Int
    public let sourceCount: Int
    private let upperBandSource: Int
    private let streams: [SeparatorStream]
    private let toModel: [ResamplerStream]
    /// [channel][source]
    private let fromModel: [[ResamplerStream]]
    /// Per channel, the model-rate input taken back to the input's rate (nil at or below the model's rate).
    private let lowerPart: [ResamplerStream]?
    /// Per channel, input samples still waiting for their lower part, and the band of those that
    /// have it (from the first frame not yet returned).
    private var unsplit: [[Float]], band: [[Float]]
    /// [channel][source]: separated samples not yet returned.
    private var pending: [[[Float]]]
    private var consumedFrames = 0, emittedFrames = 0

    public init(separator: Separator, sampleRate: Int, channels: Int, upperBandSource: Int = 0) throws(DenoiseError) {
        guard channels >= 1 else { throw .invalidParameter("at least one channel is needed") }
        guard separator.sources.indices.contains(upperBandSource) else {
            throw .invalidParameter("the upper band's source must be one of the \(separator.sources.count) sources")
        }
        channelCount = channels
        sourceCount = separator.sources.count
        self.upperBandSource = upperBandSource
        // The channels run in turn: one block's working memory serves them all.
        let scratch = Separator.BlockBuffers(separator)
        streams = (0..<channels).map { _ in SeparatorStream(separator, scratch: scratch) }
        var to: [ResamplerStream] = [], from: [[ResamplerStream]] = [], lower: [ResamplerStream] = []
        for _ in 0..<channels {
            to.append(try ResamplerStream(from: sampleRate, to: separator.sampleRate))
            var back: [ResamplerStream] = []
            for _ in 0..<sourceCount { back.append(try ResamplerStream(from: separator.sampleRate, to: sampleRate)) }
            from.append(back)
            if sampleRate > separator.sampleRate { lower.append(try ResamplerStream(from: separator.sampleRate, to: sampleRate)) }
        }
        toModel = to
        fromModel = from
        lowerPart = sampleRate > separator.sampleRate ? lower : nil
        unsplit = Array(repeating: [], count: channels)
        band = unsplit
        pending = Array(repeating: Array(repeating: [], count: sourceCount), count: channels)
    }

    /// Adds interleaved frames; returns, per source, the interleaved frames they complete.
    public func process(_ interleaved: UnsafeBufferPointer<Float>) -> [[Float]] {
        let frames = interleaved.count / channelCount
        consumedFrames += frames
        var channel = [Float](repeating: 0, count: frames)
        for c in 0..<channelCount {
            for i in 0..<frames { channel[i] = interleaved[i * channelCount + c] }
            let atModelRate = channel.withUnsafeBufferPointer { toModel[c].process($0) }
            if let lowerPart {
                unsplit[c] += channel
                split(c, atModelRate.withUnsafeBufferPointer { lowerPart[c].process($0) })
            }
            add(c, atModelRate.withUnsafeBufferPointer { streams[c].push($0) })
        }
        return drain()
    }

    /// Flushes every stage; returns the last frames (every source then has the input's frame count).
    public func finish() -> [[Float]] {
        for c in 0..<channelCount {
            let tail = toModel[c].finish()
            if let lowerPart {
                split(c, tail.withUnsafeBufferPointer { lowerPart[c].process($0) })
                split(c, lowerPart[c].finish())
                // A sample the rounded conversions did not return has no lower part: it is all band.
                band[c] += unsplit[c]
                unsplit[c] = []
            }
            add(c, tail.withUnsafeBufferPointer { streams[c].push($0) })
            add(c, streams[c].finish())
            for s in 0..<sourceCount {
                pending[c][s] += fromModel[c][s].finish()
                // Rounding in the two conversions can be a sample off: keep the input's length exactly.
                pending[c][s].fit(count: consumedFrames - emittedFrames)
            }
            if lowerPart != nil { band[c].fit(count: consumedFrames - emittedFrames) }
        }
        return drain()
    }

    /// Channel `c`'s separated samples at the model's rate, taken back to the input's.
    private func add(_ c: Int, _ separated: [[Float]]) {
        for s in 0..<sourceCount { pending[c][s] += separated[s].withUnsafeBufferPointer { fromModel[c][s].process($0) } }
    }

    /// The band of channel `c` where its lower part has arrived: input minus lower part.
    private func split(_ c: Int, _ lower: [Float]) {
        let m = min(lower.count, unsplit[c].count)
        guard m > 0 else { return }
        band[c].reserveCapacity(band[c].count + m)
        for i in 0..<m { band[c].append(unsplit[c][i] - lower[i]) }
        unsplit[c].removeFirst(m)
    }

    /// Interleaves, per source, the frames every channel and source has (with the band, where there
    /// is one), never more than the input so far.
    private func drain() -> [[Float]] {
        var n = consumedFrames - emittedFrames
        for c in 0..<channelCount {
            for s in 0..<sourceCount { n = min(n, pending[c][s].count) }
            if lowerPart != nil { n = min(n, band[c].count) }
        }
        guard n > 0 else { return Array(repeating: [], count: sourceCount) }
        var out = Array(repeating: [Float](repeating: 0, count: n * channelCount), count: sourceCount)
        for s in 0..<sourceCount {
            out[s].withUnsafeMutableBufferPointer { dst in
                for c in 0..<channelCount {
                    pending[c][s].withUnsafeBufferPointer { src in
                        for i in 0..<n { dst[i * channelCount + c] = src[i] }
                    }
                    pending[c][s].removeFirst(n)
                    if s == upperBandSource, lowerPart != nil {
                        band[c].withUnsafeBufferPointer { b in
                            for i in 0..<n { dst[i * channelCount + c] += b[i] }
                        }
                    }
                }
            }
        }
        if lowerPart != nil { for c in 0..<channelCount { band[c].removeFirst(n) } }
        emittedFrames += n
        return out
    }
}

extension Separator {
    /// Separates everything `source` delivers, source i into `sinks[i]`, as it arrives: memory stays
    /// bounded whatever the length, and every output has exactly the input's frames. The band above
    /// the dictionaries' (inputs above their rate) goes to source `upperBandSource`. Returns the frames read.
    @discardableResult
    public func separate(_ source: AudioSource, into sinks: [AudioSink], upperBandSource: Int = 0,
                         progress: ((_ framesRead: Int) -> Void)? = nil) throws(DenoiseError) -> Int {
        guard sinks.count == sources.count else {
            throw .invalidParameter("\(sources.count) sources need as many outputs (got \(sinks.count))")
        }
        let channels = source.channelCount
        let pipeline = try SeparationPipeline(separator: self, sampleRate: source.sampleRate, channels: channels,
                                              upperBandSource: upperBandSource)
        // As many frames per step as `run` reads, for the same bound on memory.
        let step = Denoiser.chunkFrames(sampleRate: source.sampleRate, channels: channels, modelRate: sampleRate)
        var chunk = [Float](repeating: 0, count: step * channels)
        var frames = 0
        func emit(_ parts: [[Float]]) throws(DenoiseError) {
            for (sink, part) in zip(sinks, parts) { try sink.write(part, channels: channels) }
        }
        while true {
            let got = chunk.withUnsafeMutableBufferPointer { source.read(into: $0.baseAddress!, frames: step) }
            if got == 0 { break }
            frames += got
            try emit(chunk.withUnsafeBufferPointer { pipeline.process(UnsafeBufferPointer(rebasing: $0[..<(got * channels)])) })
            progress?(frames)
        }
        try emit(pipeline.finish())
        return frames
    }

    /// Separates the file `input` into `outputs` (one per source, in order), streaming. Outputs keep
    /// the input's rate, channels, length and (when the container allows) encoding, and appear only
    /// when all are complete. `progress` gets the fraction of the input read.
    @discardableResult
    public func separateFile(_ input: String, to outputs: [String], upperBandSource: Int = 0,
                             progress: ((Double) -> Void)? = nil) throws(DenoiseError) -> CleaningReport {
        guard outputs.count == sources.count else {
            throw .invalidParameter("\(sources.count) sources need as many outputs (got \(outputs.count))")
        }
        let reader = try AudioFileReader(input)
        var frames = 0
        try AudioFile.writeStreaming(to: outputs, sampleRate: reader.sampleRate, channels: reader.channelCount,
                                     like: reader.format) { (sinks) throws(DenoiseError) in
            frames = try separate(reader, into: sinks, upperBandSource: upperBandSource,
                                  progress: progress.map { report in { report(Double($0) / Double(max(reader.frameCount, $0))) } })
            try reader.checkComplete(framesRead: frames)
        }
        return CleaningReport(sampleRate: reader.sampleRate, channelCount: reader.channelCount, frameCount: frames,
                              format: reader.format, repairs: reader.repairs)
    }
}
