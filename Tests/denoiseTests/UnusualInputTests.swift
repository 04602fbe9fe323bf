import DenoiseKit
import Foundation
import Testing

/// Valid but unusual input works and keeps its properties: encoding, rate, channels, length.
@Suite struct UnusualInputTests {
    static func tone(rate: Int, seconds: Double, channel: Int, amplitude: Float = 0.4) -> [Float] {
        var rng = SeededGenerator(seed: UInt64(channel + 1))
        return (0..<Int(Double(rate) * seconds)).map { i in
            amplitude * Float(sin(2 * Double.pi * Double(200 + 50 * channel) * Double(i) / Double(rate))) + 0.05 * (2 * rng.nextUnitFloat() - 1)
        }
    }

    @Test(arguments: [
        (AudioFormat.Encoding.u8, 8000, 1), (.s16, 11025, 2), (.s24, 44100, 6), (.f32, 96000, 1), (.s32, 48000, 2), (.s16, 16000, 1),
    ])
    func encodingsRatesAndChannelsAreKept(encoding: AudioFormat.Encoding, rate: Int, channels: Int) throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in.wav").path, output = dir.appendingPathComponent("out.wav").path
        let audio = AudioBuffer(sampleRate: rate, channels: (0..<channels).map { Self.tone(rate: rate, seconds: 0.7, channel: $0) })
        try AudioFile.write(audio, to: input, like: .wav(encoding))
        let r = try denoise(["run", input, "-o", output])
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
        let (cleaned, info) = try AudioFile.read(output)
        #expect(info.format == AudioFormat.wav(encoding))
        #expect(cleaned.sampleRate == rate && cleaned.channelCount == channels && cleaned.frameCount == audio.frameCount)
        for c in 0..<channels {
            #expect(cleaned.channels[c].allSatisfy { $0.isFinite })
            // The tone is speech-like enough to survive in part: the output is not silence.
            #expect(cleaned.channels[c].map { $0 * $0 }.reduce(0, +) > 0)
        }
    }

    /// Full-scale square wave: the cleaned 16-bit file clips instead of wrapping around.
    @Test func clippedFullScaleInput() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in.wav").path, output = dir.appendingPathComponent("out.wav").path
        let square = (0..<16000).map { i -> Float in (i / 40) % 2 == 0 ? 1 : -1 }
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: square), to: input, like: .wav(.s16))
        let r = try denoise(["run", input, "-o", output])
        #expect(r.status == 0, "\(r.stderr)")
        let (cleaned, _) = try AudioFile.read(output)
        #expect(cleaned.frameCount == 16000)
        #expect(cleaned.channels[0].allSatisfy { $0.isFinite && abs($0) <= 1 })
        // Wrapped-around samples would flip sign against the input; clipped ones keep it.
        let agreeing = zip(square, cleaned.channels[0]).filter { abs($1) > 0.5 }.allSatisfy { ($0 > 0) == ($1 > 0) }
        #expect(agreeing)
    }

    /// Shorter than one STFT frame (1024 samples), down to a single sample: same length out.
    @Test(arguments: [1, 10, 500, 1023])
    func inputShorterThanOneFrame(frames: Int) throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in.flac").path, output = dir.appendingPathComponent("out.flac").path
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: Array(Self.tone(rate: 16000, seconds: 0.1, channel: 0).prefix(frames))), to: input)
        let r = try denoise(["run", input, "-o", output])
        #expect(r.status == 0, "\(r.stderr)")
        let (cleaned, _) = try AudioFile.read(output)
        #expect(cleaned.frameCount == frames && cleaned.channels[0].allSatisfy { $0.isFinite })
    }

    /// Ten minutes (37 500 frames): length and rate kept. Two iterations keep the debug-build test quick;
    /// the iteration count does not change how a long file is handled. Then the same run is
    /// interrupted while it writes, and leaves nothing behind.
    @Test func longInput() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("long.wav").path, output = dir.appendingPathComponent("out.wav").path
        let minute = Self.tone(rate: 16000, seconds: 60, channel: 0)
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: Array([[Float]](repeating: minute, count: 10).joined())), to: input)
        let r = try denoise(["run", input, "-o", output, "--iterations", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        let (cleaned, _) = try AudioFile.read(output)
        #expect(cleaned.frameCount == 600 * 16000 && cleaned.sampleRate == 16000)
        #expect(cleaned.channels[0].allSatisfy { $0.isFinite })

        // Interrupted while the output is being written: the partial temporary file is removed.
        try FileManager.default.removeItem(atPath: output)
        let flac = dir.appendingPathComponent("out.flac").path
        let process = Process()
        process.executableURL = denoiseBinary
        process.arguments = ["run", input, "-o", flac, "--iterations", "1", "-q"]
        try process.run()
        var interrupted = false
        while process.isRunning, !interrupted {
            let partial = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".tmp") }
            let size = partial.compactMap { try? FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent($0).path)[.size] as? Int }.max() ?? 0
            if size > 100_000 {
                process.interrupt()
                interrupted = true
            }
            usleep(1000)
        }
        process.waitUntilExit()
        #expect(interrupted, "the write finished before it could be interrupted")
        if interrupted {
            #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGINT)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["long.wav"])
        }
    }
}
