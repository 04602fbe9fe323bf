import Foundation

/// What cleaning a file read and wrote.
public struct FileCleaningReport: Sendable {
    public var sampleRate: Int
    public var channelCount: Int
    public var frameCount: Int
    public var format: AudioFormat
    /// NaN or ±Inf input samples, treated as 0.
    public var nonFiniteSamples: Int
    public var duration: Double { Double(frameCount) / Double(sampleRate) }
}

extension Denoiser {
    /// Frames read from the input file per step.
    static let fileChunkFrames = 32768

    /// Cleans the file `input` into `output` (and the removed part, input minus output, into
    /// `removed`), streaming: memory stays bounded whatever the file's length. Outputs keep the
    /// input's rate, channels, length and (when the container allows) encoding, and appear only
    /// when complete. `progress` gets the fraction of the input read.
    @discardableResult
    public func cleanFile(_ input: String, to output: String, removedTo removed: String? = nil,
                          progress: ((Double) -> Void)? = nil) throws(DenoiseError) -> FileCleaningReport {
        let reader = try AudioFileReader(input)
        // Fail before the work, not after it, when an output cannot be written.
        for target in [output] + (removed.map { [$0] } ?? []) { try AtomicOutput.checkWritable(target) }
        let channels = reader.channelCount
        let pipeline = try CleaningPipeline(denoiser: self, sampleRate: reader.sampleRate, channels: channels)
        var frames = 0

        func run(_ cleanedWriter: AudioFileWriter, _ removedWriter: AudioFileWriter?) throws(DenoiseError) {
            var chunk = [Float](repeating: 0, count: Self.fileChunkFrames * channels)
            // Input not yet matched by output (the pipeline's latency), for the removed part.
            var unmatched: [Float] = []
            func emit(_ cleaned: [Float]) throws(DenoiseError) {
                try cleanedWriter.write(cleaned)
                guard let removedWriter else { return }
                var difference = cleaned
                for i in difference.indices { difference[i] = unmatched[i] - cleaned[i] }
                unmatched.removeFirst(cleaned.count)
                try removedWriter.write(difference)
            }
            while true {
                let got = chunk.withUnsafeMutableBufferPointer { reader.read(into: $0.baseAddress!, frames: Self.fileChunkFrames) }
                if got == 0 { break }
                frames += got
                if removedWriter != nil { unmatched += chunk[..<(got * channels)] }
                try emit(chunk.withUnsafeBufferPointer { pipeline.process(UnsafeBufferPointer(rebasing: $0[..<(got * channels)])) })
                progress?(Double(frames) / Double(max(reader.frameCount, frames)))
            }
            try reader.checkNoError(framesRead: frames)
            try emit(pipeline.finish())
        }

        try AudioFile.writeStreaming(to: output, sampleRate: reader.sampleRate, channels: channels, like: reader.format) { (cleaned) throws(DenoiseError) in
            if let removed {
                try AudioFile.writeStreaming(to: removed, sampleRate: reader.sampleRate, channels: channels, like: reader.format) { (r) throws(DenoiseError) in
                    try run(cleaned, r)
                }
            } else {
                try run(cleaned, nil)
            }
        }
        return FileCleaningReport(sampleRate: reader.sampleRate, channelCount: channels, frameCount: frames,
                                  format: reader.format, nonFiniteSamples: reader.nonFiniteSamples)
    }
}
