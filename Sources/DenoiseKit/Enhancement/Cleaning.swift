import Foundation

/// What cleaning a recording read and wrote.
public struct CleaningReport: Sendable {
    public var sampleRate: Int
    public var channelCount: Int
    public var frameCount: Int
    /// The input file's format (nil for a stream).
    public var format: AudioFormat?
    /// Input samples that were NaN/Inf (treated as 0) or far out of range (clamped).
    public var repairs: SampleRepairs
    /// How much quieter the output is than the input, in dB.
    public var levelDropDB: Double = 0
    public var duration: Double { Double(frameCount) / Double(sampleRate) }
}

/// The energy that went into and came out of a cleaning, summed as it streams.
public final class CleaningLevels {
    public private(set) var input = 0.0, output = 0.0
    public init() {}
    /// How much quieter the output is than the input, in dB (0 for silence).
    public var dropDB: Double { input > 0 && output > 0 ? 10 * log10(input / output) : 0 }
    func add(input x: ArraySlice<Float>) { input += x.reduce(0.0) { $0 + Double($1 * $1) } }
    func add(output y: [Float]) { output += y.reduce(0.0) { $0 + Double($1 * $1) } }
}

extension Denoiser {
    /// Frames read per step from a file (a pipe returns what it has, up to this): 512 STFT frames
    /// at 16 kHz, so the products work on whole blocks.
    static let chunkFrames = 131_072

    /// Frames read per step for `channels` channels at `sampleRate`: `chunkFrames` for mono at the
    /// model's rate or above, fewer when many channels or a low rate (which the conversion to the
    /// model's rate multiplies) would make a step hold more samples at the model's rate. Memory then
    /// stays bounded by the step whatever the input (256 channels at 1 kHz took 1.9 GB with fixed
    /// steps). Mono at 16 kHz keeps the fixed step; elsewhere the output equals the fixed step's to
    /// float rounding (the solve's blocks split differently).
    func chunkFrames(sampleRate: Int, channels: Int) -> Int {
        Self.chunkFrames(sampleRate: sampleRate, channels: channels, modelRate: self.sampleRate)
    }

    static func chunkFrames(sampleRate: Int, channels: Int, modelRate: Int) -> Int {
        let scaled = chunkFrames * sampleRate / (modelRate * channels)
        return min(chunkFrames, max(scaled, 1024))
    }

    /// Cleans everything `source` delivers into `sink` as it arrives (and the removed part, input
    /// minus output, into `removed`): memory stays bounded whatever the length, and the output has
    /// exactly the input's frames. `progress` gets the frames read so far; `known` see `CleaningPipeline`.
    @discardableResult
    public func clean(_ source: AudioSource, into sink: AudioSink, removed: AudioSink? = nil, levels: CleaningLevels? = nil,
                      known: KnownActivations? = nil, progress: ((_ framesRead: Int) -> Void)? = nil) throws(DenoiseError) -> Int {
        let channels = source.channelCount
        let pipeline = try CleaningPipeline(denoiser: self, sampleRate: source.sampleRate, channels: channels, known: known)
        let step = chunkFrames(sampleRate: source.sampleRate, channels: channels)
        var chunk = [Float](repeating: 0, count: step * channels)
        // Input not yet matched by output (the pipeline's latency), for the removed part.
        var unmatched: [Float] = []
        var frames = 0
        func emit(_ cleaned: [Float]) throws(DenoiseError) {
            try sink.write(cleaned, channels: channels)
            levels?.add(output: cleaned)
            guard let removed else { return }
            var difference = cleaned
            for i in difference.indices { difference[i] = unmatched[i] - cleaned[i] }
            unmatched.removeFirst(cleaned.count)
            try removed.write(difference, channels: channels)
        }
        while true {
            let got = chunk.withUnsafeMutableBufferPointer { source.read(into: $0.baseAddress!, frames: step) }
            if got == 0 { break }
            frames += got
            if removed != nil { unmatched += chunk[..<(got * channels)] }
            levels?.add(input: chunk[..<(got * channels)])
            try emit(chunk.withUnsafeBufferPointer { pipeline.process(UnsafeBufferPointer(rebasing: $0[..<(got * channels)])) })
            progress?(frames)
        }
        try emit(pipeline.finish())
        return frames
    }

    /// Cleans the file `input` into `output` (and the removed part into `removed`), streaming.
    /// Outputs keep the input's rate, channels, length and (when the container allows) encoding,
    /// and appear only when complete. `progress` gets the fraction of the input read. `known`: the
    /// activations of its first frames from `fitBeginning` of its mono signal at the model's rate.
    @discardableResult
    public func cleanFile(_ input: String, to output: String, removedTo removed: String? = nil, known: KnownActivations? = nil,
                          progress: ((Double) -> Void)? = nil) throws(DenoiseError) -> CleaningReport {
        let reader = try AudioFileReader(input)
        var frames = 0
        let rate = reader.sampleRate, channels = reader.channelCount, levels = CleaningLevels()
        func run(_ cleaned: AudioSink, _ removedWriter: AudioSink?) throws(DenoiseError) {
            frames = try clean(reader, into: cleaned, removed: removedWriter, levels: levels, known: known,
                               progress: progress.map { report in { report(Double($0) / Double(max(reader.frameCount, $0))) } })
            try reader.checkComplete(framesRead: frames)
        }
        // Each writer creates its temporary file before any work, so an output that cannot be
        // written fails at once, not after the whole file is cleaned.
        try AudioFile.writeStreaming(to: [output] + (removed.map { [$0] } ?? []), sampleRate: rate, channels: channels,
                                     like: reader.format) { (sinks) throws(DenoiseError) in
            try run(sinks[0], sinks.count > 1 ? sinks[1] : nil)
        }
        return CleaningReport(sampleRate: rate, channelCount: channels, frameCount: frames,
                              format: reader.format, repairs: reader.repairs, levelDropDB: levels.dropDB)
    }
}
