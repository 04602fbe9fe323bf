import DenoiseKit
import Foundation
import Testing

/// A process's end: how it ended and what it printed.
struct LimitedResult {
    var exitedNormally: Bool
    var status: Int32
    var stderr: String
}

/// Runs `denoise` with its address space limited to `megabytes`: a size read from a file that
/// drove an allocation would end it with a signal instead of an exit status. (glibc's allocator
/// keeps one arena here: with one per thread it spins at the limit instead of failing.) A run
/// still going after `seconds` is killed, and counts as not exited normally.
func denoiseWithMemoryLimit(_ arguments: [String], megabytes: Int = 600, seconds: Double = 60) throws -> LimitedResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", "ulimit -v \(megabytes * 1024) && exec \"$0\" \"$@\"", denoiseBinary.path] + arguments
    process.environment = ProcessInfo.processInfo.environment.merging(["MALLOC_ARENA_MAX": "1"]) { $1 }
    let err = Pipe()
    process.standardError = err
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let deadline = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
    DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: deadline)
    let e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    deadline.cancel()
    return LimitedResult(exitedNormally: process.terminationReason == .exit, status: process.terminationStatus,
                         stderr: String(decoding: e, as: UTF8.self))
}

/// A 16-bit PCM (or 32-bit float) WAV written by hand, so that any header field can lie.
func wavBytes(_ samples: [Float], rate: Int = 16000, channels: Int = 1, float: Bool = false) -> [UInt8] {
    func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    let width = float ? 4 : 2
    var data: [UInt8] = []
    for x in samples {
        data += float ? le(Int(x.bitPattern), 4) : le(Int(Int16((x * 32767).rounded().clamped(-32768, 32767))), 2)
    }
    let fmt = le(float ? 3 : 1, 2) + le(channels, 2) + le(rate, 4) + le(rate * channels * width, 4) + le(channels * width, 2) + le(8 * width, 2)
    let body = Array("WAVEfmt ".utf8) + le(16, 4) + fmt + Array("data".utf8) + le(data.count, 4) + data
    return Array("RIFF".utf8) + le(body.count, 4) + body
}

extension Float {
    func clamped(_ lo: Float, _ hi: Float) -> Float { Swift.min(Swift.max(self, lo), hi) }
}

/// `flac` with its STREAMINFO total-samples field (36 bits at byte 21.5) set to `total`.
func withDeclaredLength(_ flac: [UInt8], _ total: UInt64) -> [UInt8] {
    precondition(flac.starts(with: Array("fLaC".utf8)) && flac[4] & 0x7F == 0, "STREAMINFO comes first")
    var d = flac
    var field: UInt64 = 0
    for i in 0..<8 { field = field << 8 | UInt64(d[18 + i]) }
    field = field & ~((1 << 36) - 1) | total & ((1 << 36) - 1)
    for i in 0..<8 { d[18 + i] = UInt8(truncatingIfNeeded: field >> (8 * UInt64(7 - i))) }
    return d
}

/// Issue 15: what a hostile or unlucky input broke. Each case ends as the README promises: one
/// line `denoise: error: …`, exit 1 or 64, no signal, nothing left behind, existing files intact.
@Suite struct HostileInputTests {
    static func fileType(_ path: String) -> mode_t {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : 0
    }

    /// Reads everything a FIFO receives, on a thread of its own (opening it blocks until a writer comes).
    final class FIFOReader: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var data = Data()
        init(_ path: String) {
            Thread {
                if let h = FileHandle(forReadingAtPath: path) { self.data = h.readDataToEndOfFile() }
                self.done.signal()
            }.start()
        }
        /// What was read; nil if no writer came and finished within 60 s.
        func wait() -> Data? { done.wait(timeout: .now() + 60) == .success ? data : nil }
    }

    static func int24(_ d: Data) -> [Int] {
        let b = [UInt8](d)
        return stride(from: 0, to: b.count - 2, by: 3).map { Int(Int32(bitPattern: UInt32(b[$0]) << 8 | UInt32(b[$0 + 1]) << 16 | UInt32(b[$0 + 2]) << 24) >> 8) }
    }

    /// The bytes after a WAV's "data" chunk header.
    static func wavData(_ bytes: Data) -> Data {
        let b = [UInt8](bytes)
        var at = 12
        while at + 8 <= b.count {
            let size = Int(b[at + 4]) | Int(b[at + 5]) << 8 | Int(b[at + 6]) << 16 | Int(b[at + 7]) << 24
            if b[at..<(at + 4)].elementsEqual("data".utf8) { return Data(b[(at + 8)...]) }
            at += 8 + size + size % 2
        }
        return Data()
    }

    @Test func devicesAndPipesAsOutputsAreWrittenInPlace() throws {
        let s = try Scratch()
        defer { s.remove() }
        let dictionaries = ["--speech", s.speech, "--noise", s.noise]
        var r = try denoise(["run", s.input, "-o", "/dev/null", "--noise-output", "/dev/null"] + dictionaries)
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
        #expect(Self.fileType("/dev/null") == S_IFCHR, "/dev/null was replaced")

        r = try denoise(["run", s.input, "-o", "/dev/full"] + dictionaries)
        #expect(r.status == 1 && r.stderr.hasPrefix("denoise: error: cannot write '/dev/full': ") && r.stderr.contains("No space left on device"), "\(r.stderr)")
        #expect(r.stderr.filter { $0 == "\n" }.count == 1)
        #expect(Self.fileType("/dev/full") == S_IFCHR)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "/dev").allSatisfy { !$0.hasPrefix(".full.") })

        // A named pipe gets a WAV stream carrying the samples a file would.
        let regular = s.path("regular.wav"), fifo = s.path("out.fifo")
        #expect(try denoise(["run", s.input, "-o", regular] + dictionaries).status == 0)
        #expect(mkfifo(fifo, 0o644) == 0)
        let reader = FIFOReader(fifo)
        r = try denoise(["run", s.input, "-o", fifo] + dictionaries)
        let streamed = try #require(reader.wait(), "nothing was written into the pipe")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.fileType(fifo) == S_IFIFO)
        #expect(streamed.starts(with: Data("RIFF".utf8)))
        // The same 24-bit samples as the file (libsndfile's rounding and the stream's agree to a step).
        let a = Self.int24(Self.wavData(streamed)), b = Self.int24(Self.wavData(try Data(contentsOf: URL(fileURLWithPath: regular))))
        #expect(a.count == 16000 && a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1 })

        // /dev/stdout redirected to a file: that open file is written, not a new one renamed over it.
        let redirected = s.path("stdout.wav")
        FileManager.default.createFile(atPath: redirected, contents: nil)
        let inode = { () -> ino_t in var st = stat(); stat(redirected, &st); return st.st_ino }
        let before = inode()
        let process = Process()
        process.executableURL = denoiseBinary
        process.arguments = ["run", s.input, "-o", "/dev/stdout"] + dictionaries
        process.standardOutput = FileHandle(forWritingAtPath: redirected)
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(inode() == before)
        #expect(try AudioFile.read(redirected).0.frameCount == 16000)

        // A symbolic link to a file: the file it points to is replaced, the link stays.
        let link = s.path("link.wav"), target = try s.write(Data("old".utf8), to: "target.wav")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        r = try denoise(["run", s.input, "-o", link] + dictionaries)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.fileType(link) == S_IFLNK)
        #expect(try AudioFile.read(target).0.frameCount == 16000)
        let dangling = s.path("dangling.wav")
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: s.path("nowhere/x.wav"))
        try s.expectFailure(["run", s.input, "-o", dangling] + dictionaries,
                            message: "cannot write '\(dangling)': it is a symbolic link to a file that does not exist")
    }

    @Test func headersThatLieAboutTheLengthFailWithinAMemoryLimit() throws {
        let s = try Scratch()
        defer { s.remove() }
        let flac = s.path("in.flac")
        try AudioFile.write(try AudioFile.read(s.input).0, to: flac)
        let lying = try s.write(Data(withDeclaredLength([UInt8](try Data(contentsOf: URL(fileURLWithPath: flac))), (1 << 35) - 1)), to: "lying.flac")
        let dictionaries = ["--speech", s.speech, "--noise", s.noise]
        let commands: [[String]] = [
            ["run", lying, "-o", s.existing] + dictionaries,
            ["run", lying, "-o", s.existing, "--adapt"] + dictionaries,
            ["run", lying, "-o", s.existing],
            ["run", s.input, "-o", s.existing, "--noise-sample", lying] + dictionaries,
            ["eval", s.input, lying],
            ["train-noise", lying, "-o", s.path("n.safetensors"), "-q"],
        ]
        for arguments in commands {
            let before = s.listing
            let r = try denoiseWithMemoryLimit(arguments)
            #expect(r.exitedNormally && r.status == 1, "\(arguments): \(r.stderr)")
            #expect(r.stderr.hasPrefix("denoise: error: cannot read '\(lying)': the audio ends early: 1.000 s decoded of the 2147483.648 s the header declares"), "\(r.stderr)")
            #expect(r.stderr.filter { $0 == "\n" }.count == 1)
            #expect(s.listing == before)
        }
    }

    @Test func truncatedFLACIsAnError() throws {
        let s = try Scratch()
        defer { s.remove() }
        let flac = s.path("in.flac")
        try AudioFile.write(try AudioFile.read(s.input).0, to: flac)
        let whole = try Data(contentsOf: URL(fileURLWithPath: flac))
        let truncated = try s.write(whole.prefix(whole.count / 2), to: "truncated.flac")
        try FileManager.default.removeItem(atPath: flac)
        try s.expectFailure(["run", truncated, "-o", s.existing, "--speech", s.speech, "--noise", s.noise],
                            prefix: "cannot read '\(truncated)': the audio ends early: ")
    }

    @Test func farOutOfRangeSamplesAreClampedAndTheOutputIsFinite() throws {
        let s = try Scratch()
        defer { s.remove() }
        var x = try AudioFile.read(s.input).0.channels[0]
        x[5000] = 1e20
        let input = try s.write(Data(wavBytes(x, float: true)), to: "huge.wav"), out = s.path("out.wav")
        let r = try denoise(["run", input, "-o", out, "--speech", s.speech, "--noise", s.noise])
        #expect(r.status == 0)
        #expect(r.stderr == "denoise: warning: '\(input)': 1 sample beyond ±100 (far out of range) clamped to it\n")
        #expect(try AudioFile.read(out).0.channels[0].allSatisfy { $0.isFinite })

        // A raw float stream of nothing but 1e30.
        let raw = Data((0..<8000).flatMap { _ in withUnsafeBytes(of: Float(1e30).bitPattern.littleEndian, Array.init) })
        let (status, cleaned, err) = try StreamTests.piped(["run", "-", "-o", "-", "--format", "f32", "--sample-rate", "16000",
                                                            "--speech", s.speech, "--noise", s.noise], input: raw)
        #expect(status == 0 && err == "denoise: warning: 'standard input': 8000 samples beyond ±100 (far out of range) clamped to it\n", "\(err)")
        #expect(cleaned.count == raw.count)
        let samples = [UInt8](cleaned).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }  // little-endian host
        #expect(samples.allSatisfy { $0.isFinite })
    }

    @Test func sampleRatesOutsideTheSupportedRangeAreRefusedAndMemoryStaysBounded() throws {
        let s = try Scratch()
        defer { s.remove() }
        let tone = (0..<8000).map { Float(0.3 * sin(Double($0) * 0.3)) }
        for rate in [1, 7, 999, 2_000_000] {
            let input = try s.write(Data(wavBytes(tone, rate: rate)), to: "rate\(rate).wav")
            let before = s.listing
            let r = try denoiseWithMemoryLimit(["run", input, "-o", s.existing, "--speech", s.speech, "--noise", s.noise])
            #expect(r.exitedNormally && r.status == 1)
            #expect(r.stderr == "denoise: error: cannot read '\(input)': the file declares sample rate \(rate) Hz, outside the 1000-1000000 Hz denoise works with\n")
            #expect(s.listing == before)
        }
        // The lowest rate taken is converted 16-fold: 16 KB of it still runs in the memory limit.
        let low = try s.write(Data(wavBytes(tone, rate: 1000)), to: "rate1000.wav")
        let r = try denoiseWithMemoryLimit(["run", low, "-o", s.path("low-out.wav"), "--speech", s.speech, "--noise", s.noise])
        #expect(r.exitedNormally && r.status == 0, "\(r.stderr)")
        #expect(try AudioFile.read(s.path("low-out.wav")).0.frameCount == 8000)
        let usage = try denoise(["run", "-", "-o", "-", "--format", "s16", "--sample-rate", "7"])
        #expect(usage.status == 64 && usage.stderr == "denoise: error: sample rate must be between 1000 and 1000000 Hz (got 7) (see 'denoise run --help')\n")
    }

    @Test func dictionaryMetadataIsValidatedOnLoad() throws {
        let s = try Scratch()
        defer { s.remove() }
        let edit = { (name: String, from: String, to: String) in
            try s.editedHeader(of: s.noise, to: name) { $0.replacingOccurrences(of: from, with: to) }
        }
        let cases: [(String, String)] = [
            (try edit("beta.safetensors", "\"beta\":\"1.0\"", "\"beta\":\"5.0\""), "metadata 'beta' = 5.0 is outside [0, 2]"),
            (try edit("sparsity.safetensors", "\"sparsity\":\"0.0\"", "\"sparsity\":\"-10\""), "metadata 'sparsity' = -10.0 is negative"),
            (try edit("iterations.safetensors", "\"iterations\":\"1\"", "\"iterations\":\"x\""), "metadata 'iterations' is missing or not an integer"),
            (try edit("rank.safetensors", "\"rank\":\"2\"", "\"rank\":\"3\""), "metadata 'rank' = 3 but tensor W has 2 atoms"),
            (try edit("offsets.safetensors", "[0,4104]", "[0,9104]"), "tensor W's data ends at byte 9400 but the file has 4400 bytes (truncated)"),
        ]
        for (path, reason) in cases {
            try s.expectFailure(["run", s.input, "-o", s.existing, "--speech", s.speech, "--noise", path],
                                message: "invalid dictionary '\(path)': \(reason)")
            try s.expectFailure(["inspect", path], message: "invalid dictionary '\(path)': \(reason)")
        }
    }

    @Test func outputsThatWouldOverwriteEachOtherAreRefusedBeforeAnyWork() throws {
        let s = try Scratch()
        defer { s.remove() }
        for folder in ["a", "b", "col"] { try FileManager.default.createDirectory(atPath: s.path(folder), withIntermediateDirectories: false) }
        try FileManager.default.copyItem(atPath: s.input, toPath: s.path("a/x.wav"))
        try FileManager.default.copyItem(atPath: s.input, toPath: s.path("b/x.wav"))
        let dictionaries = ["--speech", s.speech, "--noise", s.noise]
        for jobs in ["1", "2"] {
            try s.expectFailure(["run", s.path("a/x.wav"), s.path("b/x.wav"), "-o", s.path("col"), "--jobs", jobs] + dictionaries, status: 64,
                                message: "'\(s.path("a/x.wav"))' and '\(s.path("b/x.wav"))' would both be written to '\(s.path("col/x.wav"))'; clean them into different folders (see 'denoise run --help')")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.path("col")).isEmpty)
        let out = s.path("out.wav")
        try s.expectFailure(["run", s.input, "-o", out, "--noise-output", out] + dictionaries, status: 64,
                            message: "--noise-output '\(out)' is the same file as the output; give it another (see 'denoise run --help')")
        try s.expectFailure(["run", s.input, "-o", s.existing, "--noise-output", s.existing] + dictionaries, status: 64,
                            message: "--noise-output '\(s.existing)' is the same file as the output; give it another (see 'denoise run --help')")
        try s.expectFailure(["run", s.path("a/x.wav"), s.input, "-o", s.path("col"), "--noise-output", s.path("col/")] + dictionaries, status: 64,
                            message: "--noise-output '\(s.path("col/"))' is the same folder as the output; give it another (see 'denoise run --help')")
    }

    @Test func linksToTheInputAreTheInput() throws {
        let s = try Scratch()
        defer { s.remove() }
        let hard = s.path("hard.wav"), soft = s.path("soft.wav")
        #expect(link(s.input, hard) == 0)
        try FileManager.default.createSymbolicLink(atPath: soft, withDestinationPath: s.input)
        let before = try Data(contentsOf: URL(fileURLWithPath: s.input))
        for target in [hard, soft] {
            try s.expectFailure(["run", s.input, "-o", target, "--speech", s.speech, "--noise", s.noise],
                                message: "cannot write '\(target)': it is the input file; pass --overwrite to replace it")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: s.input)) == before)
    }

    @Test func mp3InputIsWrittenInAnEncodingTheOutputHolds() throws {
        let s = try Scratch()
        defer { s.remove() }
        let mp3 = s.path("in.mp3")
        do { try AudioFile.write(try AudioFile.read(s.input).0, to: mp3) } catch {
            print("skipped: this libsndfile writes no MP3 (\(error))")
            return
        }
        let decoded = try AudioFile.read(mp3).0
        for name in ["out.wav", "out.flac", "out.mp3"] {
            let r = try denoise(["run", mp3, "-o", s.path(name), "--speech", s.speech, "--noise", s.noise])
            #expect(r.status == 0 && r.stderr.isEmpty, "\(name): \(r.stderr)")
            let (out, info) = try AudioFile.read(s.path(name))
            #expect(out.channels[0].allSatisfy { $0.isFinite })
            if name != "out.mp3" {
                #expect(out.frameCount == decoded.frameCount)
                #expect(info.format.encoding != nil, "\(info.format)")
            }
        }
    }

    @Test func outputNamesUpToTheLimitWork() throws {
        let s = try Scratch()
        defer { s.remove() }
        let name = String(repeating: "n", count: 250) + ".wav"
        let before = s.listing
        let r = try denoise(["run", s.input, "-o", s.path(name), "--speech", s.speech, "--noise", s.noise])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.listing == (before + [name]).sorted())
        let tooLong = s.path(String(repeating: "n", count: 253) + ".wav")
        try s.expectFailure(["run", s.input, "-o", tooLong, "--speech", s.speech, "--noise", s.noise],
                            message: "cannot write '\(tooLong)': the file name is longer than 255 bytes")
    }

    @Test func aNamedPipeAsInputIsReadAsAStream() throws {
        let s = try Scratch()
        defer { s.remove() }
        let dictionaries = ["--speech", s.speech, "--noise", s.noise]
        let fileMode = s.path("file-mode.wav"), streamed = s.path("streamed.wav"), fifo = s.path("in.fifo")
        #expect(try denoise(["run", s.input, "-o", fileMode, "--no-adapt", "--no-steady-floor", "--no-pause-gate", "--bandwidth", "full"] + dictionaries).status == 0)
        #expect(mkfifo(fifo, 0o644) == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: s.input))
        Thread { FileHandle(forWritingAtPath: fifo)?.write(bytes) }.start()
        let r = try denoise(["run", fifo, "-o", streamed, "--no-steady-floor", "--no-pause-gate"] + dictionaries)
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
        let a = try AudioFile.read(fileMode).0.channels[0], b = try AudioFile.read(streamed).0.channels[0]
        #expect(a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-4 })
    }

    /// A named pipe in a batch cannot be read ahead: asked for explicitly, adaptation fails that
    /// file, in one line naming it, and the other files are cleaned.
    @Test func aNamedPipeInABatchRefusesAdaptation() throws {
        let s = try Scratch()
        defer { s.remove() }
        let fifo = s.path("in.fifo"), out = s.path("cleaned")
        #expect(mkfifo(fifo, 0o644) == 0)
        // Nothing ever writes the pipe: a run that opened it would wait forever.
        let r = try denoise(["run", fifo, s.input, "-o", out, "--speech", s.speech, "--noise", s.noise, "--adapt"], timeout: 60)
        #expect(!r.timedOut && r.status != 0)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("--adapt needs a file, not a pipe or device"), "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: (out as NSString).appendingPathComponent((s.input as NSString).lastPathComponent)))
    }

    @Test func errorsStayOneLine() throws {
        let s = try Scratch()
        defer { s.remove() }
        let strange = try s.write(Data("not audio".utf8), to: "bad\nname.wav")
        try s.expectFailure(["run", strange, "-o", s.existing, "--speech", s.speech, "--noise", s.noise],
                            prefix: "cannot read '\(s.path("bad\\nname.wav"))': not a readable audio file")
        // MP3 data inside a WAV (format tag 0x55), damaged: libmpg123's own complaints stay off stderr.
        let mp3 = s.path("in.mp3")
        guard (try? AudioFile.write(try AudioFile.read(s.input).0, to: mp3)) != nil else {
            print("skipped: this libsndfile writes no MP3")
            return
        }
        var data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: mp3)))
        try FileManager.default.removeItem(atPath: mp3)
        for i in stride(from: 300, to: data.count, by: 97) { data[i] ^= 0x55 }
        func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        let fmt = le(0x55, 2) + le(1, 2) + le(16000, 4) + le(2000, 4) + le(1, 2) + le(0, 2) + le(12, 2)
            + le(1, 2) + le(2, 4) + le(144, 2) + le(1, 2) + le(1393, 2)
        let body = Array("WAVEfmt ".utf8) + le(fmt.count, 4) + fmt + Array("data".utf8) + le(data.count, 4) + data
        let wav = try s.write(Data(Array("RIFF".utf8) + le(body.count, 4) + body), to: "mpeg.wav")
        // The decoder resynchronizes past damage, so the file may clean or fail; either way only
        // denoise speaks.
        let r = try denoise(["run", wav, "-o", s.path("mpeg-out.wav"), "--speech", s.speech, "--noise", s.noise])
        #expect(r.status == 0 ? r.stderr.isEmpty : r.stderr.hasPrefix("denoise: error: cannot read '\(wav)': ") && r.stderr.filter { $0 == "\n" }.count == 1,
                "\(r.stderr)")
    }

    @Test func evalRefusesFilesThatDoNotMatch() throws {
        let s = try Scratch()
        defer { s.remove() }
        let x = try AudioFile.read(s.input).0.channels[0]
        let short = try s.write(Data(wavBytes(Array(x[..<4000]))), to: "short.wav")
        let rate = try s.write(Data(wavBytes(x, rate: 8000)), to: "rate.wav")
        let stereo = try s.write(Data(wavBytes(x.flatMap { [$0, $0] }, channels: 2)), to: "stereo.wav")
        var nan = x
        nan[10] = .nan
        let nanFile = try s.write(Data(wavBytes(nan, float: true)), to: "nan.wav")
        let cases: [(String, String)] = [
            (short, "'\(short)' lasts 0.250 s but the reference '\(s.input)' 1.000 s; the files do not match"),
            (rate, "'\(rate)' is at 8000 Hz but the reference '\(s.input)' at 16000 Hz; convert one of them first"),
            (stereo, "'\(stereo)' has 2 channel(s) but the reference '\(s.input)' has 1"),
            (nanFile, "cannot read '\(nanFile)': it holds 1 NaN/Inf sample and cannot be scored"),
        ]
        for (estimate, message) in cases {
            try s.expectFailure(["eval", s.input, estimate], message: message)
        }
        try s.expectFailure(["eval", s.input, s.input, "--noisy", short], prefix: "'\(short)' lasts 0.250 s")
        // A few samples of padding or delay are no mismatch.
        let padded = try s.write(Data(wavBytes(x + [Float](repeating: 0, count: 300))), to: "padded.wav")
        #expect(try denoise(["eval", s.input, padded]).status == 0)
    }

    @Test func silentOrNaNTrainingAudioIsRefused() throws {
        let s = try Scratch()
        defer { s.remove() }
        let nan = try s.write(Data(wavBytes([Float](repeating: .nan, count: 16000), float: true)), to: "nan.wav")
        let r = try denoise(["train-noise", nan, "-o", s.existing, "-q"])
        #expect(r.status == 1)
        #expect(r.stderr == "denoise: warning: '\(nan)': 16000 NaN/Inf samples treated as 0\ndenoise: error: the inputs contain no audio above silence to train on\n")
        let silent = try s.write(Data(wavBytes([Float](repeating: 0, count: 16000))), to: "silent.wav")
        try s.expectFailure(["train-noise", silent, "-o", s.existing, "-q"], message: "the inputs contain no audio above silence to train on")
    }
}
