import DenoiseKit
import Foundation
import Testing

/// `denoise run - -o -`: standard input to standard output, as the audio arrives.
@Suite struct StreamTests {
    /// 3 s of tones in noise (uniform, of amplitude `noise`), mono at `rate`, written as a 16-bit WAV file.
    static func noisyFile(in dir: URL, rate: Int = 16000, noise: Float = 0.05) throws -> String {
        var rng = SeededGenerator(seed: 21)
        let x = (0..<(3 * rate)).map { i -> Float in
            let tone: Float = i % (rate / 2) < rate * 5 / 16 ? 0.3 * Float(sin(Double(i) * 1440 / Double(rate))) : 0
            return tone + noise * (2 * rng.nextUnitFloat() - 1)
        }
        let path = dir.appendingPathComponent("noisy-\(rate)-\(noise).wav").path
        try AudioFile.write(AudioBuffer(sampleRate: rate, mono: x), to: path, like: .wav(.s16))
        return path
    }

    /// Runs `denoise` with `input` on standard input; returns standard output.
    static func piped(_ arguments: [String], input: Data) throws -> (Int32, Data, String) {
        let process = Process()
        process.executableURL = denoiseBinary
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        (process.standardInput, process.standardOutput, process.standardError) = (stdin, stdout, stderr)
        try process.run()
        let writer = Thread { stdin.fileHandleForWriting.write(input); try? stdin.fileHandleForWriting.close() }
        writer.start()
        let out = stdout.fileHandleForReading.readDataToEndOfFile(), err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, out, String(decoding: err, as: UTF8.self))
    }

    /// 16-bit little-endian samples of `data` from byte `offset` on.
    static func samples(_ data: Data, from offset: Int = 0) -> [Int16] {
        stride(from: offset, to: data.count - 1, by: 2).map { Int16(bitPattern: UInt16(data[$0]) | UInt16(data[$0 + 1]) << 8) }
    }

    /// File mode's samples, as 16-bit integers, with what streams use: the general model, no
    /// adaptation, the full band (a stream cannot be read ahead); no steady floor and no pause gate,
    /// which a stream tracks as it goes unless told not to (`plain`).
    static func fileModeOutput(_ input: String, in dir: URL) throws -> [Int16] {
        let out = dir.appendingPathComponent("file-mode.wav").path
        #expect(try denoise(["run", input, "-o", out, "--noise", "general", "--no-adapt", "--no-steady-floor", "--no-pause-gate", "--bandwidth", "full"]).status == 0)
        return samples(try Data(contentsOf: URL(fileURLWithPath: out)), from: 44)
    }

    /// A stream without what it tracks as it goes.
    static let plain = ["--no-steady-floor", "--no-pause-gate"]

    /// By default a stream tracks the steady floor and the pause gate (`--steady-floor` and
    /// `--pause-gate` say the same): its output is quieter than without them, the same length,
    /// and each can be turned off on its own. (Tones with pauses of faint hiss, 35 dB under them:
    /// pauses the gate turns down.)
    @Test func aStreamTracksTheFloorAndTheGateByDefault() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try Data(contentsOf: URL(fileURLWithPath: try Self.noisyFile(in: dir, noise: 0.004)))
        func stream(_ extra: [String]) throws -> [Int16] {
            let (status, out, err) = try Self.piped(["run", "-", "-o", "-"] + extra, input: input)
            #expect(status == 0 && err.isEmpty, "\(extra): \(err)")
            return Self.samples(out, from: 44)
        }
        let byDefault = try stream([]), asked = try stream(["--steady-floor", "--pause-gate"])
        let floorOnly = try stream(["--no-pause-gate"]), gateOnly = try stream(["--no-steady-floor"]), none = try stream(Self.plain)
        #expect(byDefault == asked)
        func energy(_ x: [Int16]) -> Double { x.reduce(0.0) { $0 + Double($1) * Double($1) } }
        #expect(byDefault.count == none.count && energy(byDefault) < energy(floorOnly) && energy(byDefault) < energy(gateOnly))
        #expect(energy(floorOnly) < energy(none) && energy(gateOnly) < energy(none))
    }

    /// Same integers as file mode, but for float rounding (products on other block sizes).
    static func expectSame(_ a: [Int16], _ b: [Int16], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.count == b.count, sourceLocation: sourceLocation)
        let differing = zip(a, b).filter { abs(Int($0) - Int($1)) > 0 }.count
        let worst = zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
        #expect(worst <= 1 && differing < a.count / 1000, "\(differing) samples differ, by up to \(worst)", sourceLocation: sourceLocation)
    }

    @Test func wavStreamGivesTheFileModeOutput() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try Self.noisyFile(in: dir)
        let expected = try Self.fileModeOutput(input, in: dir)
        let (status, out, err) = try Self.piped(["run", "-", "-o", "-"] + Self.plain, input: try Data(contentsOf: URL(fileURLWithPath: input)))
        #expect(status == 0 && err.isEmpty, "\(err)")
        // A WAV stream: its header declares an unknown length.
        #expect(out.prefix(4) == Data("RIFF".utf8) && out[4..<8] == Data([0xFF, 0xFF, 0xFF, 0xFF]))
        Self.expectSame(Self.samples(out, from: 44), expected)
    }

    /// Standard output redirected to a file: the WAV header's sizes are patched at the end.
    @Test func wavStreamIntoAFileGetsItsSizes() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try Self.noisyFile(in: dir), out = dir.appendingPathComponent("out.wav").path
        FileManager.default.createFile(atPath: out, contents: nil)
        let process = Process()
        process.executableURL = denoiseBinary
        process.arguments = ["run", "-", "-o", "-", "-q"]
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: input))
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        let le32 = { (at: Int) in (0..<4).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
        #expect(le32(4) == bytes.count - 8 && le32(40) == bytes.count - 44 && bytes.count == 44 + 2 * 48000)
        #expect(try AudioFile.read(out).0.frameCount == 48000)
    }

    @Test func rawStreamGivesTheFileModeOutput() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try Self.noisyFile(in: dir)
        let expected = try Self.fileModeOutput(input, in: dir)
        let raw = try Data(contentsOf: URL(fileURLWithPath: input)).dropFirst(44)
        let (status, out, err) = try Self.piped(["run", "-", "-o", "-", "--format", "s16", "--sample-rate", "16000"] + Self.plain, input: Data(raw))
        #expect(status == 0 && err.isEmpty, "\(err)")
        Self.expectSame(Self.samples(out), expected)
        // Raw float at another rate goes through the resampler both ways and keeps the length.
        let floats = Self.samples(Data(raw)).flatMap { s -> [UInt8] in withUnsafeBytes(of: (Float(s) / 32768).bitPattern.littleEndian, Array.init) }
        let (s2, out2, err2) = try Self.piped(["run", "-", "-o", "-", "--format", "f32", "--sample-rate", "22050", "--channels", "2"], input: Data(floats))
        #expect(s2 == 0 && err2.isEmpty && out2.count == floats.count, "\(err2)")
    }

    /// Output arrives while input is still coming: half the input in, and all but one window plus
    /// one hop and the mask's 5 frames of future context (160 ms) comes out before the rest is
    /// written; at 48 kHz the rate conversions add at most 20 ms, and the band above 8 kHz nothing.
    @Test(arguments: [16000, 48000])
    func outputFollowsInputWithinOneWindowAndTheMaskContext(rate: Int) throws {
        let process = Process()
        process.executableURL = denoiseBinary
        process.arguments = ["run", "-", "-o", "-", "--format", "s16", "--sample-rate", String(rate)]
        let stdin = Pipe(), stdout = Pipe()
        (process.standardInput, process.standardOutput) = (stdin, stdout)
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let half = rate
        var rng = SeededGenerator(seed: 5)
        let bytes = (0..<(2 * half)).flatMap { _ -> [UInt8] in
            let s = Int16((2 * rng.nextUnitFloat() - 1) * 3000)
            return [UInt8(truncatingIfNeeded: s), UInt8(truncatingIfNeeded: s >> 8)]
        }
        stdin.fileHandleForWriting.write(Data(bytes[..<(2 * half)]))
        let latency = (1024 + 256 + 5 * 256) * rate / 16000 + (rate == 16000 ? 0 : rate / 50)
        let expectedSoon = 2 * (half - latency)
        let received = LockedData()
        let reader = Thread {
            while received.count < expectedSoon {
                let d = stdout.fileHandleForReading.availableData
                if d.isEmpty { break }
                received.append(d)
            }
        }
        reader.start()
        let deadline = Date().addingTimeInterval(30)
        while received.count < expectedSoon, Date() < deadline { usleep(10_000) }
        #expect(received.count >= expectedSoon, "only \(received.count) of \(expectedSoon) bytes came out before the input ended")
        stdin.fileHandleForWriting.write(Data(bytes[(2 * half)...]))
        try stdin.fileHandleForWriting.close()
        while reader.isExecuting { usleep(1000) }
        let rest = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(received.count + rest.count == bytes.count)
    }

    /// At 48 kHz too (the band above 8 kHz included), a stream is cleaned as its file would be.
    @Test func wavStreamAt48kHzGivesTheFileModeOutput() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try Self.noisyFile(in: dir, rate: 48000)
        let expected = try Self.fileModeOutput(input, in: dir)
        let (status, out, err) = try Self.piped(["run", "-", "-o", "-"] + Self.plain, input: try Data(contentsOf: URL(fileURLWithPath: input)))
        #expect(status == 0 && err.isEmpty, "\(err)")
        Self.expectSame(Self.samples(out, from: 44), expected)
    }

    @Test func streamUsageErrors() throws {
        var r = try denoise(["run", "-", "-o", "-", "--format", "s16"])
        #expect(r.status == 64 && r.stderr == "denoise: error: a raw input stream needs --sample-rate (see 'denoise run --help')\n")
        r = try denoise(["run", "-", "-o", "-", "--format", "mp3"])
        #expect(r.status == 64 && r.stderr.hasPrefix("denoise: error: The value 'mp3' is invalid for '--format <format>'. Please provide one of the following: - wav - u8 - s16"), "\(r.stderr)")
        let (status, out, err) = try Self.piped(["run", "-", "-o", "-"], input: Data("hello, not a wav".utf8))
        #expect(status == 1 && out.isEmpty)
        #expect(err == "denoise: error: cannot read 'standard input': not a WAV stream (for raw PCM give --format and --sample-rate)\n")
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    var count: Int { lock.withLock { data.count } }
    func append(_ d: Data) { lock.withLock { data.append(d) } }
}
