import Foundation
import Testing
@testable import DenoiseKit

@Suite struct AudioTests {
    static func sine(_ frequency: Double, rate: Int, seconds: Double, amplitude: Float = 0.5) -> [Float] {
        (0..<Int(Double(rate) * seconds)).map { amplitude * Float(sin(2 * Double.pi * frequency * Double($0) / Double(rate))) }
    }

    @Test(arguments: ["wav", "flac", "aiff"])
    func writeThenReadRoundTrips(ext: String) throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let audio = AudioBuffer(sampleRate: 22050, channels: [Self.sine(440, rate: 22050, seconds: 0.5), randomSignal(count: 11025, seed: 3)])
        let path = dir.appendingPathComponent("x.\(ext)").path
        try AudioFile.write(audio, to: path)
        let (back, info) = try AudioFile.read(path)
        #expect(back.sampleRate == 22050 && back.channelCount == 2 && back.frameCount == audio.frameCount)
        // Written as 24-bit PCM (no format to imitate): error within half a 24-bit step.
        for c in 0..<2 {
            let worst = zip(back.channels[c], audio.channels[c]).map { abs($0 - $1) }.max()!
            #expect(worst <= 1.0 / 8_388_608, "\(ext) channel \(c): worst error \(worst)")
        }
        #expect(info.repairs == SampleRepairs())
        // Nothing but the file itself is left in the folder (the temporary was renamed).
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["x.\(ext)"])
    }

    /// Reading only the beginning gives the first samples of every channel.
    @Test func readingTheFirstSecondsGivesThePrefix() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let audio = AudioBuffer(sampleRate: 8000, channels: [randomSignal(count: 8000, seed: 4), randomSignal(count: 8000, seed: 5)])
        let path = dir.appendingPathComponent("x.wav").path
        try AudioFile.write(audio, to: path)
        let whole = try AudioFile.read(path).0, head = try AudioFile.read(path, seconds: 0.25).0
        #expect(head.frameCount == 2000 && head.channelCount == 2)
        for c in 0..<2 { #expect(Array(whole.channels[c].prefix(2000)) == head.channels[c]) }
        #expect(try AudioFile.read(path, seconds: 5).0.frameCount == 8000)
    }

    /// Reading from a later frame (a section's fit) gives that stretch of every channel, for a
    /// lossless file and a compressed one; a start past the end is a clear error.
    @Test(arguments: ["wav", "flac"])
    func readingFromAFrameGivesThatStretch(ext: String) throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let audio = AudioBuffer(sampleRate: 8000, channels: [randomSignal(count: 8000, seed: 6), randomSignal(count: 8000, seed: 7)])
        let path = dir.appendingPathComponent("x.\(ext)").path
        try AudioFile.write(audio, to: path)
        let whole = try AudioFile.read(path).0, part = try AudioFile.read(path, from: 3001, seconds: 0.25).0, tail = try AudioFile.read(path, from: 7000).0
        #expect(part.frameCount == 2000 && tail.frameCount == 1000)
        for c in 0..<2 {
            #expect(Array(whole.channels[c][3001..<5001]) == part.channels[c])
            #expect(Array(whole.channels[c][7000...]) == tail.channels[c])
        }
        #expect(throws: DenoiseError.unreadableInput(path: path, reason: "cannot read from frame 8001: the file declares 8000")) {
            try AudioFile.read(path, from: 8001)
        }
    }

    @Test func formatOfTheInputIsKept() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let audio = AudioBuffer(sampleRate: 16000, mono: Self.sine(300, rate: 16000, seconds: 0.2))
        let a = dir.appendingPathComponent("a.wav").path, b = dir.appendingPathComponent("b.wav").path
        try AudioFile.write(audio, to: a)
        let (_, infoA) = try AudioFile.read(a)
        try AudioFile.write(audio, to: b, like: infoA.format)
        #expect(try AudioFile.read(b).1.format == infoA.format)
        #expect(infoA.format.description.contains("WAV"))
    }

    @Test func missingAndNonAudioFilesAreClearErrors() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: DenoiseError.unreadableInput(path: dir.path + "/none.wav", reason: "no such file")) {
            try AudioFile.read(dir.path + "/none.wav")
        }
        let text = dir.appendingPathComponent("text.wav").path
        try "hello, not audio".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(throws: DenoiseError.self) { try AudioFile.read(text) }
        #expect(throws: DenoiseError.unreadableInput(path: dir.path, reason: "it is a directory, not an audio file")) {
            try AudioFile.read(dir.path)
        }
    }

    @Test func writingIntoAMissingFolderFailsCleanly() {
        let audio = AudioBuffer(sampleRate: 16000, mono: [0, 0.1])
        #expect(throws: DenoiseError.unwritableOutput(path: "/nonexistent-dir/x.wav", reason: "the folder '/nonexistent-dir' does not exist")) {
            try AudioFile.write(audio, to: "/nonexistent-dir/x.wav")
        }
    }

    @Test(arguments: [(44100, 16000), (16000, 48000), (8000, 16000)])
    func resamplingKeepsPitchLevelAndTiming(from: Int, to: Int) throws {
        let x = Self.sine(440, rate: from, seconds: 1)
        let y = try Resampler.resample(x, from: from, to: to)
        #expect(y.count == to)
        // Compare with the ideal sine at the new rate, away from the edges: no delay, no level change.
        let ideal = Self.sine(440, rate: to, seconds: 1)
        let mid = (to / 10)..<(to - to / 10)
        let snr = snrDB(reference: ideal[mid].map(Double.init), estimate: y[mid].map(Double.init))
        #expect(snr > 60, "\(from) → \(to): SNR \(snr) dB")
    }

    /// The temporary file's name fits the 255-byte limit whenever the output's does, cut at a
    /// character boundary (names are UTF-8 bytes to the file system).
    @Test(arguments: [1, 200, 240, 250, 255])
    func temporaryNamesFitTheNameLimit(length: Int) {
        for stem in [String(repeating: "n", count: length), String(repeating: "é", count: length / 2)] {
            let name = AtomicOutput.temporaryName(for: stem, pid: 4_194_304, random: .max)
            #expect(name.utf8.count <= AtomicOutput.nameLimit, "\(name.utf8.count) bytes")
            #expect(name.hasPrefix(".") && name.hasSuffix(".4194304.4294967295.tmp"))
            #expect(stem.hasPrefix(String(name.dropFirst().prefix { $0 != "." })))
        }
    }

    /// Whatever reaches the library (a sample of 1e30, NaN, Inf), the cleaned signal is finite.
    @Test func outOfRangeInputGivesFiniteOutput() throws {
        var x = randomSignal(count: 8000, seed: 4)
        for i in stride(from: 0, to: 8000, by: 500) { x[i] = 1e30 }
        x[100] = .nan
        x[200] = -.infinity
        let speech = randomMatrix(rows: 513, cols: 4, seed: 1, range: 0.01...1), noise = randomMatrix(rows: 513, cols: 2, seed: 2, range: 0.01...1)
        func dictionary(_ atoms: Matrix, _ kind: SpectralDictionary.Kind) -> SpectralDictionary {
            SpectralDictionary(atoms: atoms, kind: kind, sampleRate: 16000, stft: STFTConfiguration(nFFT: 1024, hop: 256), beta: 1, iterations: 1)
        }
        let denoiser = try Denoiser(speech: dictionary(speech, .speech), noise: [dictionary(noise, .noise)])
        let cleaned: [Float] = denoiser.denoise(x)
        #expect(cleaned.count == x.count && cleaned.allSatisfy(\.isFinite))
        var repairs = SampleRepairs()
        x.withUnsafeMutableBufferPointer { repairs.repair($0.baseAddress!, count: $0.count) }
        #expect(repairs.nonFinite == 2 && repairs.clamped == 16)
        #expect(x.allSatisfy { abs($0) <= SampleRepairs.limit })
    }

    /// The mask's last guard: estimates that are not numbers give the floor, never NaN.
    @Test func maskGainsStayInTheirRange() {
        var s: [Float] = [.nan, 1, 0, .infinity, 2, 0]
        let n: [Float] = [1, .nan, 0, .infinity, 1, .infinity]
        var re = [Float](repeating: 1, count: 6), im = re
        applyMask(speech: &s, noise: n, power: 2, exponent: 1.25, floor: 0.1, count: 6, re: &re, im: &im)
        #expect(re.allSatisfy { $0.isFinite && $0 >= 0.1 && $0 <= 1 }, "\(re)")
        #expect(re[4] == Float(0.8).squareRoot().squareRoot() * 0.8)
    }
}
