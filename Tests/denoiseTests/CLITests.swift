import DenoiseKit
import Foundation
import Testing

/// The `denoise` executable run as a subprocess, as a user runs it.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
    /// Killed after the caller's timeout.
    var timedOut = false
}

/// The built `denoise` next to this test bundle.
let denoiseBinary: URL = {
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var dir = exe.deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("denoise").path), dir.path != "/" {
        dir = dir.deletingLastPathComponent()
    }
    return dir.appendingPathComponent("denoise")
}()

func denoise(_ arguments: [String], timeout: Double? = nil) throws -> CLIResult {
    try runProcess(denoiseBinary, arguments, timeout: timeout)
}

/// Runs `executable` to the end, collecting its status and output; with `timeout`, a run that has
/// not ended after that many seconds is killed (`timedOut`), so a test that would hang fails.
func runProcess(_ executable: URL, _ arguments: [String], timeout: Double? = nil) throws -> CLIResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let pid = process.processIdentifier
    let killer = DispatchWorkItem { kill(pid, SIGKILL) }
    if let timeout { DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer) }
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    killer.cancel()
    return CLIResult(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self),
                     timedOut: process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL)
}

func makeTemporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("denoise-cli-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

let corpus: URL? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/corpus").standardized
    return FileManager.default.fileExists(atPath: root.appendingPathComponent("mixtures/manifest.csv").path) ? root : nil
}()

func siSDR(_ reference: [Float], _ estimate: [Float]) -> Double {
    let n = min(reference.count, estimate.count)
    let r = reference[..<n].map(Double.init), e = estimate[..<n].map(Double.init)
    let a = zip(e, r).reduce(0) { $0 + $1.0 * $1.1 } / r.reduce(0) { $0 + $1 * $1 }
    let noise = zip(e, r).reduce(0) { $0 + ($1.0 - a * $1.1) * ($1.0 - a * $1.1) }
    return 10 * log10(a * a * r.reduce(0) { $0 + $1 * $1 } / noise)
}

@Suite struct CLITests {
    /// The first two pairs of each SNR in the manifest: real speech and noise the dictionaries never saw.
    /// Single files vary (a "clean" reference may itself carry rumble that a denoiser removes), so the
    /// mean gain is what is asserted, and that no output is broken.
    @Test func runImprovesRealMixturesWithTheShippedDictionaries() throws {
        guard let corpus else {
            print("skipped: ../shared/corpus is absent")
            return
        }
        let manifest = try String(contentsOf: corpus.appendingPathComponent("mixtures/manifest.csv"), encoding: .utf8)
        let rows = manifest.split(whereSeparator: \.isNewline).dropFirst().map { $0.split(separator: ",").map(String.init) }
        var gains: [Double] = []
        for snr in ["-5", "0", "5", "10"] {
          for row in rows.filter({ $0[4] == snr }).prefix(2) {
            let dir = makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let noisy = corpus.appendingPathComponent("mixtures/\(row[1])").path
            let out = dir.appendingPathComponent("clean.wav").path
            let result = try denoise(["run", noisy, "-o", out])
            #expect(result.status == 0, "\(result.stderr)")
            let (clean, _) = try AudioFile.read(corpus.appendingPathComponent("mixtures/\(row[2])").path)
            let (input, _) = try AudioFile.read(noisy)
            let (output, _) = try AudioFile.read(out)
            #expect(output.frameCount == input.frameCount && output.sampleRate == input.sampleRate)
            let gain = siSDR(clean.channels[0], output.channels[0]) - siSDR(clean.channels[0], input.channels[0])
            // None broken: the worst, +10 dB ac_fan, loses 4.9 dB (2.0 without adaptation), its
            // "clean" reference holding a low rumble (0-150 Hz as strong as 150-500 Hz) that the
            // atoms learned from the file's pauses take away with the fan.
            #expect(gain > -6 && output.channels[0].allSatisfy { $0.isFinite }, "\(row[0]): SI-SDR change \(gain) dB")
            gains.append(gain)
          }
        }
        #expect(gains.count == 8)
        let mean = gains.reduce(0, +) / Double(gains.count)
        #expect(mean > 1.5, "mean SI-SDR improvement \(mean) dB over \(gains)")
    }

    @Test func trainThenRunWithTheTrainedDictionaries() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Tones as "speech", white noise as "noise", written as files the commands read.
        let rate = 16000
        let tones = (0..<(3 * rate)).map { i in Float(0.3 * sin(2 * Double.pi * 220 * Double(i) / Double(rate)) + 0.2 * sin(2 * Double.pi * 660 * Double(i) / Double(rate))) }
        var rng = SeededGenerator(seed: 1)
        let hiss = (0..<(3 * rate)).map { _ in 0.1 * (2 * rng.nextUnitFloat() - 1) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("speech/sub"), withIntermediateDirectories: true)
        try AudioFile.write(AudioBuffer(sampleRate: rate, mono: tones), to: dir.appendingPathComponent("speech/sub/a.wav").path)
        try AudioFile.write(AudioBuffer(sampleRate: rate, mono: hiss), to: dir.appendingPathComponent("hiss.flac").path)
        let mix = zip(tones, hiss).map { $0 + $1 }
        try AudioFile.write(AudioBuffer(sampleRate: rate, channels: [mix, mix]), to: dir.appendingPathComponent("mix.wav").path)

        let sp = dir.appendingPathComponent("s.safetensors").path, no = dir.appendingPathComponent("n.safetensors").path
        var r = try denoise(["train-speech", dir.appendingPathComponent("speech").path, "-o", sp, "--rank", "4", "--iterations", "50"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try denoise(["train-noise", dir.appendingPathComponent("hiss.flac").path, "-o", no, "--rank", "2", "--iterations", "50"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("rank 2"))
        let out = dir.appendingPathComponent("out.flac").path, removed = dir.appendingPathComponent("removed.wav").path
        r = try denoise(["run", dir.appendingPathComponent("mix.wav").path, "-o", out, "--speech", sp, "--noise", no, "--noise-output", removed])
        #expect(r.status == 0, "\(r.stderr)")
        let (cleaned, _) = try AudioFile.read(out)
        #expect(cleaned.channelCount == 2 && cleaned.frameCount == mix.count)
        #expect(siSDR(tones, cleaned.channels[1]) > siSDR(tones, mix) + 6)
        #expect(FileManager.default.fileExists(atPath: removed))

        // Mask bases with temporal context, trained on mixtures of the same files, then used by run.
        let disc = dir.appendingPathComponent("n-disc.safetensors").path
        r = try denoise(["train-discriminative", "--speech-dict", sp, "--noise-dict", no, "--speech", dir.appendingPathComponent("speech").path,
                         "--noise", dir.appendingPathComponent("hiss.flac").path, "-o", disc, "--mixtures", "4", "--seconds", "1",
                         "--iterations", "5", "--context-past", "1", "--context-future", "2", "--solve-layers", "3", "--layer-steps", "4"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("3 solve layers, 4 steps"), "\(r.stderr)")
        r = try denoise(["inspect", disc])
        #expect(r.stdout.contains("mask_context_future: 2") && r.stdout.contains("mask_context_past: 1"), "\(r.stdout)")
        #expect(r.stdout.contains("solve_layers: 3"), "\(r.stdout)")
        let out2 = dir.appendingPathComponent("out2.wav").path
        r = try denoise(["run", dir.appendingPathComponent("mix.wav").path, "-o", out2, "--speech", sp, "--noise", disc, "-v"])
        #expect(r.status == 0 && r.stderr.contains("over frames t-1…t+2"), "\(r.stderr)")
        #expect(r.stderr.contains("40 iterations on 128 bands (the last 3 with trained atoms)"), "\(r.stderr)")
        let (cleaned2, _) = try AudioFile.read(out2)
        #expect(cleaned2.frameCount == mix.count)
        #expect(siSDR(tones, cleaned2.channels[0]) > siSDR(tones, mix) + 6)
    }

    @Test func batchGoesOnPastABadFileAndFailsAtTheEnd() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.wav").path, bad = dir.appendingPathComponent("bad.wav").path
        let tone = (0..<8000).map { Float(0.3 * sin(Double($0) * 0.1)) }
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: tone), to: good)
        try "not audio".write(toFile: bad, atomically: true, encoding: .utf8)
        let outDir = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        let r = try denoise(["run", bad, good, "-o", outDir.path, "--quiet"])
        #expect(r.status == 1)
        // One line per failed file and nothing else (the summary is for --verbose).
        #expect(r.stderr.hasPrefix("denoise: error: cannot read '\(bad)': not a readable audio file"))
        #expect(r.stderr.filter { $0 == "\n" }.count == 1, "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outDir.path) == ["good.wav"])
        #expect(try AudioFile.read(outDir.appendingPathComponent("good.wav").path).0.frameCount == 8000)
    }

    /// Files cleaned in parallel (--jobs 2, single-threaded products) match files cleaned in turn
    /// (threaded products), and a bad file in a parallel batch is reported like in a sequential one.
    @Test func parallelBatchMatchesSequentialBatch() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var inputs: [String] = []
        for k in 0..<4 {
            var rng = SeededGenerator(seed: UInt64(k))
            let x = (0..<(12000 + 3000 * k)).map { i in 0.3 * Float(sin(Double(i) * 0.03 * Double(k + 1))) + 0.05 * (2 * rng.nextUnitFloat() - 1) }
            inputs.append(dir.appendingPathComponent("in\(k).wav").path)
            try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: x), to: inputs[k], like: .float32WAV)
        }
        let bad = dir.appendingPathComponent("bad.wav").path
        try "not audio".write(toFile: bad, atomically: true, encoding: .utf8)
        for (name, jobs) in [("one", ["--jobs", "1"]), ("two", ["--jobs", "2"]), ("default", ["-v"])] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(name), withIntermediateDirectories: false)
            let r = try denoise(["run"] + inputs + [bad, "-o", dir.appendingPathComponent(name).path] + jobs + (jobs == ["-v"] ? [] : ["-q"]))
            // Verbose, each file's summary comes before or after the error line.
            #expect(r.status == 1 && r.stderr.contains("denoise: error: cannot read '\(bad)'"), "\(r.stderr)")
            if name != "default" { #expect(r.stderr.hasPrefix("denoise: error:"), "\(r.stderr)") }
            if name == "default" {
                // Unset, a batch cleans one file per core (here 5 files).
                let workers = min(ProcessInfo.processInfo.activeProcessorCount, 5)
                #expect(r.stderr.contains("cleaned 4 of 5 files") && r.stderr.contains(", \(workers) at a time"), "\(r.stderr)")
            }
        }
        for k in 0..<4 {
            let a = try AudioFile.read(dir.appendingPathComponent("one/in\(k).wav").path).0.channels[0]
            for name in ["two", "default"] {
                let b = try AudioFile.read(dir.appendingPathComponent("\(name)/in\(k).wav").path).0.channels[0]
                #expect(a.count == b.count)
                #expect(zip(a, b).map { abs($0 - $1) }.max()! < 1e-5)
            }
        }
    }

    @Test func nonFiniteSamplesAreZeroedWithAWarningAndSilenceStaysSilent() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var x = (0..<16000).map { Float(0.2 * sin(Double($0) * 0.05)) }
        x[100] = .nan; x[200] = .infinity; x[300] = -.infinity
        let input = dir.appendingPathComponent("nan.wav").path, out = dir.appendingPathComponent("out.wav").path
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: x), to: input, like: .float32WAV)
        var r = try denoise(["run", input, "-o", out])
        #expect(r.status == 0)
        #expect(r.stderr == "denoise: warning: '\(input)': 3 NaN/Inf samples treated as 0\n")
        #expect(try AudioFile.read(out).0.channels[0].allSatisfy { $0.isFinite })

        let silent = dir.appendingPathComponent("silent.wav").path
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: [Float](repeating: 0, count: 20000)), to: silent)
        r = try denoise(["run", silent, "-o", out])
        #expect(r.status == 0)
        #expect(try AudioFile.read(out).0.channels[0].allSatisfy { $0 == 0 })
    }

    @Test func trainingOnTooLittleAudioIsAClearError() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let short = dir.appendingPathComponent("short.wav").path
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: (0..<3000).map { Float(0.3 * sin(Double($0))) }), to: short)
        let r = try denoise(["train-noise", short, "-o", dir.appendingPathComponent("n.safetensors").path, "--rank", "50", "-q"])
        #expect(r.status == 1)
        #expect(r.stderr == "denoise: error: rank 50 needs at least 50 frames of audio, the inputs give 15 (0.19 s)\n")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("n.safetensors").path))
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let e = try denoise(["train-speech", empty.path, "-o", dir.appendingPathComponent("s.safetensors").path])
        #expect(e.status == 1 && e.stderr == "denoise: error: no audio files found in '\(empty.path)'\n")
    }

    @Test func versionAndHelp() throws {
        #expect(try denoise(["--version"]).stdout == "0.1.0\n")
        let help = try denoise(["run", "--help"])
        #expect(help.status == 0 && help.stdout.contains("Examples:"))
    }
}

@Suite struct EvalCommandTests {
    @Test func evalPrintsScoresAndImprovements() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SeededGenerator(seed: 4)
        let clean = (0..<32000).map { i in Float(0.3 * sin(Double(i) * 0.05) * sin(Double(i) * 0.0007)) }
        let noise = clean.map { _ in 0.1 * (2 * rng.nextUnitFloat() - 1) }
        let paths = ["clean", "noisy", "better"].map { dir.appendingPathComponent("\($0).wav").path }
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: clean), to: paths[0], like: .float32WAV)
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: zip(clean, noise).map { $0 + $1 }), to: paths[1], like: .float32WAV)
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: zip(clean, noise).map { $0 + 0.1 * $1 }), to: paths[2], like: .float32WAV)
        let r = try denoise(["eval", paths[0], paths[2], "--noisy", paths[1], "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: [String: Double]]
        // One tenth of the noise left: 20 dB better.
        #expect(abs(json["improvement"]!["snr"]! - 20) < 0.01 && abs(json["improvement"]!["si_sdr"]! - 20) < 0.1)
        #expect(json["improvement"]!["stoi"]! > 0 && json["estimate"]!["stoi"]! <= 1)
        let table = try denoise(["eval", paths[0], paths[2]])
        #expect(table.status == 0 && table.stdout.hasPrefix("measure             estimate\nSI-SDR (dB)"))
        let missing = try denoise(["eval", paths[0], dir.appendingPathComponent("none.wav").path])
        #expect(missing.status == 1 && missing.stderr == "denoise: error: cannot read '\(dir.path)/none.wav': no such file\n")
    }
}

@Suite struct NoiseSampleTests {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Samples").standardized

    /// Four seconds of the fan alone (Samples/make-samples.sh) become the noise model: the speech
    /// in that fan improves, measured against the clean speech.
    @Test func noiseSampleLearnsTheNoiseAtRunTime() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let noisy = Self.samples.appendingPathComponent("speech-fan.wav").path
        let out = dir.appendingPathComponent("out.wav").path
        let r = try denoise(["run", noisy, "-o", out, "--noise-sample", Self.samples.appendingPathComponent("fan-noise-sample.wav").path])
        #expect(r.status == 0, "\(r.stderr)")
        let clean = try AudioFile.read(Self.samples.appendingPathComponent("speech-fan-clean.wav").path).0.channels[0]
        let gain = siSDR(clean, try AudioFile.read(out).0.channels[0]) - siSDR(clean, try AudioFile.read(noisy).0.channels[0])
        // Measured +5.6 dB (the defaults alone: +4.6); sample atoms at the wrong scale gave −1.9.
        #expect(gain > 4, "SI-SDR improvement \(gain) dB")
    }

    /// `--adapt` learns noise atoms from the file's own pauses and cleans with them beside the
    /// chosen dictionary.
    @Test func adaptLearnsTheNoiseFromThePauses() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let noisy = Self.samples.appendingPathComponent("speech-fan.wav").path
        let out = dir.appendingPathComponent("out.wav").path
        let r = try denoise(["run", noisy, "-o", out, "--adapt", "-v"])
        #expect(r.status == 0 && r.stderr.contains("noise dictionary 'pauses of the input', rank 8"), "\(r.stderr)")
        let clean = try AudioFile.read(Self.samples.appendingPathComponent("speech-fan-clean.wav").path).0.channels[0]
        let gain = siSDR(clean, try AudioFile.read(out).0.channels[0]) - siSDR(clean, try AudioFile.read(noisy).0.channels[0])
        #expect(gain > 1, "SI-SDR improvement \(gain) dB")
        // Too short to learn from: cleaned without the learned atoms, with a warning.
        let short = dir.appendingPathComponent("short.wav").path
        var rng = SeededGenerator(seed: 9)
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: (0..<1000).map { _ in 0.1 * (2 * rng.nextUnitFloat() - 1) }), to: short)
        let s = try denoise(["run", short, "-o", dir.appendingPathComponent("short-clean.wav").path, "--adapt"])
        #expect(s.status == 0)
        #expect(s.stderr == "denoise: warning: '\(short)': --adapt skipped, too short to learn its noise from its pauses: 7 frames, at least 16 are needed\n")
    }

    /// `-v` on a file of several sections says that the model it lists is the first section's, how
    /// every section was fitted, and the band of each where they differ: here the last 18 s went to
    /// 8 kHz and back, so they hold nothing above 4 kHz.
    @Test func verboseDescribesEverySection() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fan = try AudioFile.read(Self.samples.appendingPathComponent("speech-fan.wav").path).0.channels[0]
        let limited = try Resampler.resample(try Resampler.resample(fan + fan + fan, from: 16000, to: 8000), from: 8000, to: 16000)
        let input = dir.appendingPathComponent("long.wav").path
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: fan + fan + limited.prefix(3 * fan.count)), to: input)
        let r = try denoise(["run", input, "-o", dir.appendingPathComponent("o.wav").path, "--sections", "16", "-v"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("rank 8 (the first section's)\n"), "\(r.stderr)")
        #expect(r.stderr.contains("sections: 2, each fitted on its own: general + adapted to 2 of 2 sections + steady floor\n"), "\(r.stderr)")
        #expect(r.stderr.contains("band:   section 1: full; section 2: the input holds nothing above 3."), "\(r.stderr)")
        // A file of one section says neither.
        let one = try denoise(["run", Self.samples.appendingPathComponent("speech-fan.wav").path, "-o", dir.appendingPathComponent("p.wav").path, "-v"])
        #expect(one.status == 0 && !one.stderr.contains("section"), "\(one.stderr)")
    }

    /// Options that leave the shipped model's trained layers unused, or use them otherwise than
    /// trained, are said; the defaults say nothing.
    @Test func unusedTrainedPartsAreWarnings() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let noisy = Self.samples.appendingPathComponent("speech-fan.wav").path, out = dir.appendingPathComponent("o.wav").path
        let plain = try denoise(["run", noisy, "-o", out, "--noise", "general"])
        #expect(plain.status == 0 && plain.stderr.isEmpty, "\(plain.stderr)")
        let bands = try denoise(["run", noisy, "-o", out, "--noise", "general", "--bands", "64"])
        #expect(bands.status == 0 && bands.stderr.contains("has solve layers trained on 128 bands; with 64 bands the solve uses its atoms throughout")
                && bands.stderr.contains("were trained with bands 128; this run uses 64"), "\(bands.stderr)")
        let few = try denoise(["run", noisy, "-o", out, "--noise", "general", "--iterations", "3"])
        #expect(few.stderr.contains("trained solve layers; 3 iterations use only the last 3 of them")
                && few.stderr.contains("were trained with iterations 40; this run uses 3"), "\(few.stderr)")
        let quiet = try denoise(["run", noisy, "-o", out, "--noise", "general", "--iterations", "3", "-q"])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty)
    }

    /// Files are adapted to by default (the output is `--adapt`'s, the log says so, `--no-adapt`
    /// turns it off); a file too short is cleaned without, silently; streams are not adapted.
    @Test func filesAreAdaptedToByDefault() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let noisy = Self.samples.appendingPathComponent("speech-fan.wav").path
        func output(_ name: String, _ extra: [String]) throws -> Data {
            let out = dir.appendingPathComponent(name).path
            let r = try denoise(["run", noisy, "-o", out, "--noise", "general", "--log", dir.appendingPathComponent("log.jsonl").path] + extra)
            #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
            return try Data(contentsOf: URL(fileURLWithPath: out))
        }
        let byDefault = try output("default.wav", []), adapted = try output("adapt.wav", ["--adapt"]), plain = try output("plain.wav", ["--no-adapt"])
        #expect(byDefault == adapted && byDefault != plain)
        let noise = try BatchRecord.read(log: dir.appendingPathComponent("log.jsonl").path).map { $0.noise ?? "" }
        #expect(noise == ["general + adapted to the file + steady floor", "general + adapted to the file + steady floor", "general + steady floor"])
        var rng = SeededGenerator(seed: 9)
        let short = dir.appendingPathComponent("short.wav").path
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: (0..<1000).map { _ in 0.1 * (2 * rng.nextUnitFloat() - 1) }), to: short)
        let s = try denoise(["run", short, "-o", dir.appendingPathComponent("short-clean.wav").path])
        #expect(s.status == 0 && s.stderr.isEmpty, "\(s.stderr)")
        let stream = try runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "'\(denoiseBinary.path)' run - -o - --noise general < '\(noisy)' > '\(dir.appendingPathComponent("stream.wav").path)'"])
        #expect(stream.status == 0 && stream.stderr.isEmpty, "\(stream.stderr)")
    }

    /// The steady floor is on for files (`--no-steady-floor` changes the output, the log names it);
    /// streams take `--steady-floor` too (they track it).
    @Test func steadyFloorIsTheDefaultForFiles() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let noisy = Self.samples.appendingPathComponent("speech-fan.wav").path, log = dir.appendingPathComponent("log.jsonl").path
        func output(_ name: String, _ extra: [String]) throws -> Data {
            let out = dir.appendingPathComponent(name).path
            let r = try denoise(["run", noisy, "-o", out, "--noise", "general", "--no-adapt", "--log", log] + extra)
            #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
            return try Data(contentsOf: URL(fileURLWithPath: out))
        }
        let byDefault = try output("default.wav", []), asked = try output("asked.wav", ["--steady-floor"]), off = try output("off.wav", ["--no-steady-floor"])
        #expect(byDefault == asked && byDefault != off)
        #expect(try BatchRecord.read(log: log).map { $0.noise ?? "" } == ["general + steady floor", "general + steady floor", "general"])
        let stream = try runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "'\(denoiseBinary.path)' run - -o '\(dir.appendingPathComponent("s.wav").path)' --steady-floor < '\(noisy)'"])
        #expect(stream.status == 0 && stream.stderr.isEmpty, "\(stream.stderr)")
    }

    /// The pause gate is on for files (`--no-pause-gate` changes the output: it holds more energy);
    /// streams take `--pause-gate` too (they track the loud speech's level).
    @Test func pauseGateIsTheDefaultForFiles() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let noisy = Self.samples.appendingPathComponent("speech-fan.wav").path
        func output(_ name: String, _ extra: [String]) throws -> [Float] {
            let out = dir.appendingPathComponent(name).path
            let r = try denoise(["run", noisy, "-o", out, "--noise", "general", "--no-adapt"] + extra)
            #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
            return try AudioFile.read(out).0.channels[0]
        }
        let byDefault = try output("default.wav", []), asked = try output("asked.wav", ["--pause-gate"]), off = try output("off.wav", ["--no-pause-gate"])
        #expect(byDefault == asked && byDefault != off)
        func energy(_ x: [Float]) -> Float { x.reduce(0) { $0 + $1 * $1 } }
        #expect(byDefault.count == off.count && energy(byDefault) < energy(off))
        let stream = try runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "'\(denoiseBinary.path)' run - -o '\(dir.appendingPathComponent("s.wav").path)' --pause-gate < '\(noisy)'"])
        #expect(stream.status == 0 && stream.stderr.isEmpty, "\(stream.stderr)")
    }

    /// A recording that holds nothing above some frequency (here through 8 kHz and back, as a phone
    /// call would be) is solved below it by default, which `-v` says; `--bandwidth full` solves the
    /// whole band, a frequency given is used for the file, and a bad value is a one-line error.
    @Test func bandLimitedFilesAreSolvedWithinTheirBand() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (fan, _) = try AudioFile.read(Self.samples.appendingPathComponent("speech-fan.wav").path)
        let phone = try Resampler.resample(try Resampler.resample(fan.channels[0], from: fan.sampleRate, to: 8000), from: 8000, to: fan.sampleRate)
        let noisy = dir.appendingPathComponent("phone.wav").path
        try AudioFile.write(AudioBuffer(sampleRate: fan.sampleRate, mono: phone), to: noisy)
        func run(_ name: String, _ extra: [String]) throws -> (CLIResult, Data) {
            let out = dir.appendingPathComponent(name).path
            let r = try denoise(["run", noisy, "-o", out, "--noise", "general", "-v"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return (r, (try? Data(contentsOf: URL(fileURLWithPath: out))) ?? Data())
        }
        let (auto, byDefault) = try run("auto.wav", []), (full, whole) = try run("full.wav", ["--bandwidth", "full"])
        let (_, given) = try run("given.wav", ["--bandwidth", "4000"])
        #expect(auto.stderr.contains("band:   the input holds nothing above 4.0 kHz") || auto.stderr.contains("above 3.9 kHz"), "\(auto.stderr)")
        #expect(full.stderr.contains("band:   full"))
        #expect(byDefault != whole && given != whole && !byDefault.isEmpty)
        let bad = try denoise(["run", noisy, "-o", dir.appendingPathComponent("bad.wav").path, "--bandwidth", "wide"])
        #expect(bad.status != 0 && bad.stderr.split(separator: "\n").count == 1 && bad.stderr.contains("bandwidth"), "\(bad.stderr)")
    }

    /// `--noise auto` names the dictionary it picked for each file and cleans with it: the shipped
    /// aircraft-cockpit dictionary for a real cockpit recording, the general model for a synthetic fan.
    @Test func autoNoiseNamesItsChoicePerFile() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var expected = [(Self.samples.appendingPathComponent("speech-fan.wav").path, "general")]
        if let corpus {
            expected.append((corpus.appendingPathComponent("mixtures/noisy/m001_aircraft_cockpit_+5dB.flac").path, "aircraft_cockpit"))
        }
        let r = try denoise(["run"] + expected.map(\.0) + ["-o", dir.path, "--noise", "auto"])
        #expect(r.status == 0, "\(r.stderr)")
        for (input, choice) in expected {
            let name = URL(fileURLWithPath: input).lastPathComponent
            #expect(r.stderr.contains("\(name): noise \(choice)\n"), "\(r.stderr)")
            let (before, _) = try AudioFile.read(input)
            let (after, _) = try AudioFile.read(dir.appendingPathComponent(name).path)
            #expect(after.frameCount == before.frameCount)
        }
        // The choice is named with -v (or --noise auto) only; by default the general model cleans.
        if let corpus {
            let cockpit = corpus.appendingPathComponent("mixtures/noisy/m001_aircraft_cockpit_+5dB.flac").path
            let out = dir.appendingPathComponent("auto.wav").path
            var d = try denoise(["run", cockpit, "-o", out, "--noise", "auto", "-v"])
            #expect(d.status == 0 && d.stderr.contains("noise aircraft_cockpit") && d.stderr.contains("noise/aircraft_cockpit.safetensors"), "\(d.stderr)")
            d = try denoise(["run", cockpit, "-o", dir.appendingPathComponent("default.wav").path, "-v"])
            #expect(d.status == 0 && !d.stderr.contains("noise/aircraft_cockpit.safetensors") && d.stderr.contains("noise.safetensors"), "\(d.stderr)")
            // The choice fits the candidates' atoms only, but cleans with the chosen one whole (its
            // mask bases and solve layers): the output is that of naming it.
            let named = dir.appendingPathComponent("named.wav").path
            #expect(try denoise(["run", cockpit, "-o", named, "--noise", "aircraft_cockpit"]).status == 0)
            #expect(try AudioFile.read(out).0.channels == AudioFile.read(named).0.channels)
        }
    }

    /// A retired type (its own dictionary lost to the general model on other recordings) cleans
    /// with the general model, and says so in one line.
    @Test func aRetiredTypeUsesTheGeneralModel() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let noisy = Self.samples.appendingPathComponent("speech-fan.wav").path
        let retired = dir.appendingPathComponent("retired.wav").path, general = dir.appendingPathComponent("general.wav").path
        let r = try denoise(["run", noisy, "-o", retired, "--noise", "street_traffic"])
        #expect(r.status == 0 && r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("'street_traffic' uses the general model"), "\(r.stderr)")
        #expect(try denoise(["run", noisy, "-o", general, "--noise", "general"]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: retired)) == Data(contentsOf: URL(fileURLWithPath: general)))
        #expect(!ShippedDictionaries.noiseTypes().contains("street_traffic"))
        #expect(try denoise(["dictionaries"]).stdout.contains("street_traffic: the general model"))
        let parts = dir.appendingPathComponent("parts").path
        let separated = try denoise(["separate", noisy, "-o", parts, "--source", "speech=speech", "--source", "street=street_traffic"])
        #expect(separated.status == 0 && separated.stderr.contains("'street_traffic' uses the general model"), "\(separated.stderr)")
    }

    @Test func tooShortNoiseSampleIsAClearError() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let short = dir.appendingPathComponent("short.wav").path
        var rng = SeededGenerator(seed: 9)
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: (0..<1000).map { _ in 0.1 * (2 * rng.nextUnitFloat() - 1) }), to: short)
        let r = try denoise(["run", Self.samples.appendingPathComponent("speech-fan.wav").path, "-o", dir.appendingPathComponent("x.wav").path,
                             "--noise-sample", short])
        #expect(r.status == 1)
        #expect(r.stderr == "denoise: error: the noise sample '\(short)' is too short: 7 frames, at least 8 (0.15 s) are needed\n")
    }
}
