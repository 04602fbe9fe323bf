import DenoiseKit
import Foundation
import Testing

/// A folder for one CLI test: a valid input, small valid dictionaries, and an existing output file
/// whose bytes every failed run must leave alone.
struct Scratch {
    let dir = makeTemporaryDirectory()
    let input: String
    let existing: String
    let speech: String
    let noise: String
    private let existingBytes = Data("an existing output that must survive\n".utf8)

    init() throws {
        input = dir.appendingPathComponent("input.wav").path
        existing = dir.appendingPathComponent("existing.wav").path
        speech = dir.appendingPathComponent("speech.safetensors").path
        noise = dir.appendingPathComponent("noise.safetensors").path
        var rng = SeededGenerator(seed: 7)
        let x = (0..<16000).map { i in 0.3 * Float(sin(Double(i) * 0.07)) + 0.05 * (2 * rng.nextUnitFloat() - 1) }
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: x), to: input)
        try existingBytes.write(to: URL(fileURLWithPath: existing))
        try Self.dictionary(.speech, rank: 4, seed: 1).write(to: speech)
        try Self.dictionary(.noise, rank: 2, seed: 2).write(to: noise)
    }

    /// A dictionary of random atoms: valid in every field, meaningless as a model.
    static func dictionary(_ kind: SpectralDictionary.Kind, rank: Int, seed: UInt64, sampleRate: Int = 16000, nFFT: Int = 1024) -> SpectralDictionary {
        var rng = SeededGenerator(seed: seed)
        let bins = nFFT / 2 + 1
        return SpectralDictionary(atoms: Matrix(rows: bins, cols: rank, storage: (0..<(bins * rank)).map { _ in rng.nextUnitFloat() + 0.01 }),
                                  kind: kind, sampleRate: sampleRate, stft: STFTConfiguration(nFFT: nFFT, hop: nFFT / 4),
                                  beta: 1, iterations: 1)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func write(_ bytes: Data, to name: String) throws -> String {
        try bytes.write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    /// A copy of `source` with `edit` applied to its safetensors header text (same-length edits keep
    /// the data offsets valid).
    func editedHeader(of source: String, to name: String, _ edit: (String) -> String) throws -> String {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        let n = Int(bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let header = edit(String(decoding: bytes[8..<(8 + n)], as: UTF8.self))
        precondition(header.utf8.count == n, "header edits must keep its length")
        bytes.replaceSubrange(8..<(8 + n), with: Data(header.utf8))
        return try write(bytes, to: name)
    }

    var listing: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() }

    /// Runs `denoise` and checks what every failure must satisfy: the status, exactly one line on
    /// stderr (`message` exactly, or starting with `prefix`), the existing output byte-for-byte as it
    /// was, and no new file in the folder (no output, no temporary).
    @discardableResult
    func expectFailure(_ arguments: [String], status: Int32 = 1, message: String? = nil, prefix: String? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
        let before = listing
        let r = try denoise(arguments)
        #expect(r.status == status, "\(arguments): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.filter { $0 == "\n" }.count == 1 && r.stderr.hasSuffix("\n"), "not one line: \(r.stderr)", sourceLocation: sourceLocation)
        if let message { #expect(r.stderr == "denoise: error: \(message)\n", sourceLocation: sourceLocation) }
        if let prefix { #expect(r.stderr.hasPrefix("denoise: error: \(prefix)"), "\(r.stderr)", sourceLocation: sourceLocation) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: existing)) == existingBytes, sourceLocation: sourceLocation)
        #expect(listing == before, "files appeared: \(Set(listing).subtracting(before))", sourceLocation: sourceLocation)
        return r
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }
}

/// A 16-bit mono WAV header and data of `frames` frames, written by hand so that broken variants can be made.
func handMadeWAV(frames: Int, declaredDataBytes: Int? = nil) -> Data {
    func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    let data = [UInt8](repeating: 0, count: 2 * frames)
    let fmt = le16(1) + le16(1) + le32(16000) + le32(32000) + le16(2) + le16(16)
    let body = Array("WAVEfmt ".utf8) + le32(16) + fmt + Array("data".utf8) + le32(declaredDataBytes ?? data.count) + data
    return Data(Array("RIFF".utf8) + le32(body.count) + body)
}

/// Issue 3's list of bad input: each case ends with its status, one line naming the file and the
/// reason, and nothing written or damaged.
@Suite struct BadInputTests {
    @Test func badInputFilesAreRefused() throws {
        let s = try Scratch()
        defer { s.remove() }
        try FileManager.default.createDirectory(atPath: s.path("folder.wav"), withIntermediateDirectories: false)
        var rng = SeededGenerator(seed: 3)
        let cases: [(String, String?, String?)] = [
            (s.path("missing.wav"), "no such file", nil),
            (try s.write(Data(), to: "empty.wav"), "the file is empty (0 bytes)", nil),
            (try s.write(Data("RIFF? no, just a note\n".utf8), to: "text.wav"), nil, "not a readable audio file"),
            (try s.write(Data((0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }), to: "random.wav"), nil, "not a readable audio file"),
            (try s.write(handMadeWAV(frames: 100).prefix(30), to: "truncated.wav"), nil, "not a readable audio file"),
            (try s.write(handMadeWAV(frames: 0), to: "zero.wav"), "the file contains no audio (0 frames)", nil),
        ]
        for (input, reason, prefix) in cases {
            try s.expectFailure(["run", input, "-o", s.existing],
                                message: reason.map { "cannot read '\(input)': \($0)" }, prefix: prefix.map { "cannot read '\(input)': \($0)" })
        }
        // A folder is a batch's input, searched for audio files.
        try s.expectFailure(["run", s.path("folder.wav"), "-o", s.path("out")], message: "no audio files found in '\(s.path("folder.wav"))'")
    }

    @Test func missingOrUncreatableOutputFolders() throws {
        let s = try Scratch()
        defer { s.remove() }
        let missing = s.path("no-such-folder/out.wav")
        try s.expectFailure(["run", s.input, "-o", missing], message: "cannot write '\(missing)': the folder '\(s.path("no-such-folder"))' does not exist")
        // /proc takes no new files, not even from root.
        try s.expectFailure(["run", s.input, "-o", "/proc/denoise-test.wav"],
                            message: "cannot write '/proc/denoise-test.wav': cannot create a file in '/proc' (No such file or directory)")
        try s.expectFailure(["train-noise", s.input, "-o", "/proc/n.safetensors", "-q"],
                            message: "cannot write '/proc/n.safetensors': cannot create a file in '/proc' (No such file or directory)")
    }

    /// Permissions do not stop root, so as root the command runs as the unprivileged user `nobody`.
    @Test func unreadableInputAndUnwritableFolder() throws {
        let s = try Scratch()
        defer { s.remove() }
        let locked = s.path("locked"), secret = s.path("secret.wav")
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: s.input, toPath: secret)
        chmod(secret, 0o000)
        chmod(locked, 0o555)
        chmod(s.dir.path, 0o777)
        for file in [s.input, s.speech, s.noise] { chmod(file, 0o644) }
        var asUser: ([String]) throws -> CLIResult = { try denoise($0) }
        if geteuid() == 0 {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
                  (try? runAsNobody("/bin/sh", ["-c", "test -x '\(denoiseBinary.path)'"]))?.status == 0 else {
                print("skipped: cannot run the binary as an unprivileged user here")
                return
            }
            asUser = { try runAsNobody(denoiseBinary.path, $0) }
        }
        var r = try asUser(["run", secret, "-o", s.path("out.wav"), "--speech", s.speech, "--noise", s.noise])
        #expect(r.status == 1 && r.stderr == "denoise: error: cannot read '\(secret)': permission denied\n", "\(r.stderr)")
        r = try asUser(["run", s.input, "-o", locked + "/out.wav", "--speech", s.speech, "--noise", s.noise])
        #expect(r.status == 1 && r.stderr == "denoise: error: cannot write '\(locked)/out.wav': the folder '\(locked)' is not writable\n", "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: locked).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: s.path("out.wav")))
    }

    @Test func outputEqualToInputNeedsOverwriteWhichReplacesItSafely() throws {
        let s = try Scratch()
        defer { s.remove() }
        let before = try Data(contentsOf: URL(fileURLWithPath: s.input))
        let r = try denoise(["run", s.input, "-o", s.input, "--speech", s.speech, "--noise", s.noise])
        #expect(r.status == 1 && r.stderr == "denoise: error: cannot write '\(s.input)': it is the input file; pass --overwrite to replace it\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: s.input)) == before)
        let listing = s.listing
        let o = try denoise(["run", s.input, "-o", s.input, "--speech", s.speech, "--noise", s.noise, "--overwrite"])
        #expect(o.status == 0, "\(o.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: s.input)) != before)
        #expect(try AudioFile.read(s.input).0.frameCount == 16000)
        #expect(s.listing == listing)
    }

    @Test func badDictionariesAreRefused() throws {
        let s = try Scratch()
        defer { s.remove() }
        let good = try Data(contentsOf: URL(fileURLWithPath: s.noise))
        let truncated = try s.write(good.prefix(good.count - 100), to: "truncated.safetensors")
        let badJSON = try s.editedHeader(of: s.noise, to: "json.safetensors") { "!" + $0.dropFirst() }
        let dtype = try s.editedHeader(of: s.noise, to: "dtype.safetensors") { $0.replacingOccurrences(of: "\"F32\"", with: "\"F64\"") }
        let shape = try s.editedHeader(of: s.noise, to: "shape.safetensors") { $0.replacingOccurrences(of: "[513,2]", with: "[512,2]") }
        let rate = s.path("rate.safetensors"), fft = s.path("fft.safetensors")
        try Scratch.dictionary(.noise, rank: 2, seed: 3, sampleRate: 22050).write(to: rate)
        try Scratch.dictionary(.noise, rank: 2, seed: 3, nFFT: 512).write(to: fft)
        let cases: [(String, String)] = [
            (s.path("missing.safetensors"), "invalid dictionary '\(s.path("missing.safetensors"))': no such file"),
            (truncated, "invalid dictionary '\(truncated)': tensor W's data ends at byte 4400 but the file has 4300 bytes (truncated)"),
            (badJSON, "invalid dictionary '\(badJSON)': the header is not valid JSON"),
            (dtype, "invalid dictionary '\(dtype)': tensor W has dtype F64, expected F32, F16 or BF16"),
            (shape, "invalid dictionary '\(shape)': tensor W of shape [512, 2] does not match its data offsets [0, 4104]"),
            (rate, "dictionaries disagree on sample_rate: speech dictionary '\(s.speech)' has 16000, noise dictionary '\(rate)' has 22050"),
            (fft, "dictionaries disagree on n_fft: speech dictionary '\(s.speech)' has 1024, noise dictionary '\(fft)' has 512"),
        ]
        for (noise, message) in cases {
            try s.expectFailure(["run", s.input, "-o", s.existing, "--speech", s.speech, "--noise", noise], message: message)
        }
        try s.expectFailure(["run", s.input, "-o", s.existing, "--noise", "no_such_type"], prefix: "'no_such_type' is neither a dictionary file nor a shipped noise type (see 'denoise dictionaries'; types: ")
    }

    /// A speech dictionary passed as --noise (or the reverse) is allowed, as an experiment may want,
    /// with a warning (documented in the README).
    @Test func kindMismatchIsAWarning() throws {
        let s = try Scratch()
        defer { s.remove() }
        let r = try denoise(["run", s.input, "-o", s.path("out.wav"), "--speech", s.speech, "--noise", s.speech])
        #expect(r.status == 0)
        #expect(r.stderr == "denoise: warning: speech dictionary '\(s.speech)' is used as a noise dictionary\n")
    }

    @Test func badTrainingInputsAreRefused() throws {
        let s = try Scratch()
        defer { s.remove() }
        let notes = s.path("notes")
        try FileManager.default.createDirectory(atPath: notes, withIntermediateDirectories: false)
        _ = try s.write(Data("not audio".utf8), to: "notes/readme.txt")
        let text = try s.write(Data("not audio".utf8), to: "text.wav")
        let short = try s.write(handMadeWAV(frames: 500), to: "short.wav")
        let silent = try s.write(handMadeWAV(frames: 16000), to: "silent.wav")
        let train = { (inputs: [String], extra: [String]) in ["train-noise"] + inputs + ["-o", s.existing, "-q"] + extra }
        try s.expectFailure(train([notes], []), message: "no audio files found in '\(notes)'")
        try s.expectFailure(train([text], []), prefix: "cannot read '\(text)': not a readable audio file")
        try s.expectFailure(train([short], []), message: "the inputs hold 0.031 s of audio, less than one STFT frame (1024 samples, 0.064 s)")
        try s.expectFailure(train([silent], []), message: "the inputs contain no audio above silence to train on")
        try s.expectFailure(train([s.input], ["--rank", "100"]), message: "rank 100 needs at least 100 frames of audio, the inputs give 66 (1.00 s)")
    }

    @Test(arguments: [
        (["train-noise", "a.wav", "-o", "n.safetensors", "--rank", "0"], "rank must be at least 1 (got 0) (see 'denoise train-noise --help')"),
        (["train-noise", "a.wav", "-o", "n.safetensors", "--rank", "-3"], "rank must be at least 1 (got -3) (see 'denoise train-noise --help')"),
        (["train-speech", "a.wav", "-o", "n.safetensors", "--iterations", "many"], "The value 'many' is invalid for '--iterations <iterations>' (see 'denoise train-speech --help')"),
        (["train-noise", "a.wav", "-o", "n.safetensors", "--hop", "2048"], "hop must be between 1 and n-fft/2 = 512 (got 2048) (see 'denoise train-noise --help')"),
        (["train-noise", "a.wav", "-o", "n.safetensors", "--n-fft", "1001"], "n-fft must be an even number from 16 to 65536 (got 1001) (see 'denoise train-noise --help')"),
        (["run", "a.wav", "-o", "b.wav", "--iterations", "-1"], "iterations must be between 1 and 100000 (got -1) (see 'denoise run --help')"),
        (["run", "a.wav", "-o", "b.wav", "--sparsity", "-0.5"], "sparsity must be non-negative (got -0.5) (see 'denoise run --help')"),
        (["run", "a.wav", "-o", "b.wav", "--gain-exponent", "0"], "gain exponent must be in (0, 8] (got 0.0) (see 'denoise run --help')"),
        (["run", "a.wav", "-o", "b.wav", "--sections", "5"], "sections must be 0 (one fit per file) or 10 to 86400 seconds (got 5.0) (see 'denoise run --help')"),
        (["run", "a.wav"], "Missing expected argument '--output <output>' (see 'denoise run --help')"),
        (["run", "a.wav", "-o", "b.wav", "--qqqqqqqqq"], "Unknown option '--qqqqqqqqq' (see 'denoise run --help')"),
        (["run", "a.wav", "-o", "b.wav", "--noise", "auto", "--noise", "wind"], "--noise auto cannot be combined with other --noise dictionaries (see 'denoise run --help')"),
        (["run", "-", "-o", "b.wav", "--noise", "auto"], "--noise auto needs files, not streams: it reads the beginning of each before cleaning it (see 'denoise run --help')"),
        (["run", "a.wav", "-o", "-", "--adapt"], "--adapt needs files, not streams: it learns from the recording before cleaning it (see 'denoise run --help')"),
        (["train-discriminative", "--speech-dict", "s", "--noise-dict", "n", "--speech", "a", "--noise", "b", "-o", "c", "--context-future", "9"],
         "mask context must be 0 to 8 frames each way (got 0 past, 9 future) (see 'denoise train-discriminative --help')"),
        (["train-discriminative", "--speech-dict", "s", "--noise-dict", "n", "--speech", "a", "--noise", "b", "-o", "c", "--solve-layers", "41"],
         "solve layers must be between 0 and the run's 40 iterations (got 41) (see 'denoise train-discriminative --help')"),
        (["train-discriminative", "--speech-dict", "s", "--noise-dict", "n", "--speech", "a", "--noise", "b", "-o", "c", "--mask-beta", "3"],
         "mask beta must be in [0, 2] (got 3.0) (see 'denoise train-discriminative --help')"),
        (["train-discriminative", "--speech-dict", "s", "--noise-dict", "n", "--speech", "a", "--noise", "b", "-o", "c", "--layer-rate", "0"],
         "layer rate must be in (0, 1] (got 0.0) (see 'denoise train-discriminative --help')"),
        (["train-discriminative", "--speech-dict", "s", "--noise-dict", "n", "--speech", "a", "--noise", "b", "-o", "c", "--layer-decay", "-1"],
         "layer decay must be non-negative and below 1 / layer rate (got -1.0) (see 'denoise train-discriminative --help')"),
        (["frobnicate"], "Unexpected argument 'frobnicate' (see 'denoise --help')"),
    ])
    func invalidOptionsAreOneLineUsageErrors(arguments: [String], message: String) throws {
        let r = try denoise(arguments)
        #expect(r.status == 64)
        #expect(r.stderr == "denoise: error: \(message)\n")
    }
}

/// Runs a program as the unprivileged user `nobody` (for permission tests when the suite runs as root).
func runAsNobody(_ executable: String, _ arguments: [String]) throws -> CLIResult {
    try runProcess(URL(fileURLWithPath: "/usr/bin/setpriv"), ["--reuid=65534", "--regid=65534", "--clear-groups", executable] + arguments)
}
