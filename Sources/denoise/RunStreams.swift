import ArgumentParser
import DenoiseKit
import Foundation

/// `run` on standard input and output, named pipes and devices.
extension Run {
    /// '-', a named pipe or a device as input, or '-' as output: the audio is cleaned as it arrives.
    /// Returns the seconds of audio cleaned.
    @discardableResult
    func cleanStream(_ input: String, to output: String, noiseTo noiseOutput: String?, with given: Denoiser, start: Date) throws -> Double {
        // Nothing can be measured beforehand: the steady floor and the pause gate follow the stream.
        let denoiser = try given.tracking(steadyFloor: steadyFloors, pauseGate: pauseGates)
        let encoding = format.encoding
        let layout: PCMStreamFormat = encoding.map { .raw($0, sampleRate: streamRate ?? 0, channels: streamChannels) } ?? .wav
        let source: AudioSource
        var fileFormat: AudioFormat?
        var descriptor: Int32?
        defer { if let descriptor { close(descriptor) } }
        if input == "-" {
            source = try PCMStreamReader(format: layout)
        } else if AudioFile.isStream(input) {
            let fd = open(input, O_RDONLY)
            guard fd >= 0 else { throw DenoiseError.unreadableInput(path: input, reason: String(cString: strerror(errno))) }
            descriptor = fd
            source = try PCMStreamReader(fd: fd, format: layout, name: input)
        } else {
            let reader = try AudioFileReader(input)
            fileFormat = reader.format
            source = reader
        }
        let sampleEncoding = (source as? PCMStreamReader)?.encoding ?? encoding ?? fileFormat?.encoding ?? .s16
        var frames = 0
        func run(_ sink: AudioSink) throws(DenoiseError) {
            if let noiseOutput {
                try AudioFile.writeStreaming(to: noiseOutput, sampleRate: source.sampleRate, channels: source.channelCount,
                                             like: .wav(sampleEncoding)) { (removed) throws(DenoiseError) in
                    frames = try denoiser.clean(source, into: sink, removed: removed)
                }
            } else {
                frames = try denoiser.clean(source, into: sink)
            }
        }
        if output == "-" {
            let writer = try PCMStreamWriter(encoding: encoding ?? sampleEncoding, sampleRate: source.sampleRate,
                                             channels: source.channelCount, wav: encoding == nil)
            try run(writer)
            writer.close()
        } else {
            if fileFormat != nil { try refuseInputAsOutput(input, [output] + (noiseOutput.map { [$0] } ?? [])) }
            try AudioFile.writeStreaming(to: output, sampleRate: source.sampleRate, channels: source.channelCount,
                                         like: fileFormat ?? .wav(sampleEncoding)) { (writer) throws(DenoiseError) in try run(writer) }
        }
        warnRepairs(input == "-" ? "standard input" : input, source.repairs)
        let seconds = Double(frames) / Double(source.sampleRate)
        if verbose {
            Console.info("stream: \(formatSeconds(seconds)), \(source.sampleRate) Hz, \(source.channelCount) channel(s), \(formatSeconds(Date().timeIntervalSince(start)))")
        }
        return seconds
    }

}
