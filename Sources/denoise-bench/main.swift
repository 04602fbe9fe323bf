import DenoiseKit
import Foundation

// `make bench`: speed and memory of denoise on audio this program makes itself.
// Prints the matrix-product bound, the real-time factor of `denoise run` (whole process) at the
// reference setting R and at the defaults, training throughput, and peak memory on long files.

let arguments = CommandLine.arguments
let quick = arguments.contains("--quick")
let work = FileManager.default.temporaryDirectory.appendingPathComponent("denoise-bench-\(getpid())")
try! FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: work) }
let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    .deletingLastPathComponent().appendingPathComponent("denoise").path

func now() -> Double { Date().timeIntervalSinceReferenceDate }

func row(_ name: String, _ value: String) { print(name.padding(toLength: 58, withPad: " ", startingAt: 0) + value) }

/// Speech-like test audio: harmonic tones with moving pitch, switching like syllables, in noise.
/// Written in chunks: a 3-hour file never sits in memory.
func makeAudio(seconds: Int, path: String, rate: Int = 16000) throws {
    try AudioFile.writeStreaming(to: path, sampleRate: rate, channels: 1, like: .wav(.s16)) { (writer) throws(DenoiseError) in
        var rng = SeededGenerator(seed: 1)
        var chunk = [Float](repeating: 0, count: rate)
        var phase = 0.0
        for second in 0..<seconds {
            let f0 = 110 + Double(second % 7) * 20
            for i in 0..<rate {
                let syllable = (i / 3200) % 2 == 0 ? 1.0 : 0.0
                phase += 2 * .pi * f0 / Double(rate)
                var s = 0.0
                for h in 1...8 { s += sin(Double(h) * phase) / Double(h) }
                chunk[i] = Float(0.15 * syllable * s) + 0.03 * (2 * rng.nextUnitFloat() - 1)
            }
            try chunk.withUnsafeBufferPointer { (p) throws(DenoiseError) in try writer.write(p.baseAddress!, frames: rate) }
        }
    }
}

/// Runs the denoise binary; returns wall seconds and peak resident memory in MB.
///
/// The peak is the child's own VmHWM, polled from /proc: the rusage of a spawned child starts from
/// its parent's peak on Linux (the exec'd image inherits it), which would count this benchmark's memory.
func timedRun(_ args: [String]) -> (seconds: Double, peakMB: Double) {
    var pid: pid_t = 0
    let argv = ([binary] + args).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    let start = now()
    guard posix_spawn(&pid, binary, nil, nil, argv, environ) == 0 else { fatalError("cannot run \(binary)") }
    var status: Int32 = 0
    var peakKB = 0
    while waitpid(pid, &status, WNOHANG) == 0 {
        if let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") {
            peakKB = max(peakKB, kb)
        }
        usleep(10_000)
    }
    let elapsed = now() - start
    if status != 0 { fatalError("denoise \(args.joined(separator: " ")) failed (\(status))") }
    return (elapsed, Double(peakKB) / 1024)
}

/// Seconds per call of C = A·B with A [m×k], B [k×n] (best of a few rounds). With `parallel`,
/// one single-threaded product per core at once, and the time per product.
func gemmSeconds(m: Int, n: Int, k: Int, transposeA: Bool, parallel: Bool = false) -> Double {
    guard parallel else { return gemmSeconds(m: m, n: n, k: k, transposeA: transposeA, seed: 2) }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    setLinearAlgebraThreads(1)
    defer { setLinearAlgebraThreads(cores) }
    let start = now()
    DispatchQueue.concurrentPerform(iterations: cores) { core in
        _ = gemmSeconds(m: m, n: n, k: k, transposeA: transposeA, seed: UInt64(core))
    }
    // Each thread ran 5 rounds of 40 products (plus set-up, which makes this bound conservative).
    return (now() - start) / Double(cores * 200)
}

func gemmSeconds(m: Int, n: Int, k: Int, transposeA: Bool, seed: UInt64) -> Double {
    var rng = SeededGenerator(seed: seed)
    let a = transposeA ? Matrix(rows: k, cols: m, storage: (0..<(m * k)).map { _ in rng.nextUnitFloat() })
                       : Matrix(rows: m, cols: k, storage: (0..<(m * k)).map { _ in rng.nextUnitFloat() })
    let b = Matrix(rows: k, cols: n, storage: (0..<(k * n)).map { _ in rng.nextUnitFloat() })
    var c = Matrix(rows: m, cols: n)
    var best = Double.infinity
    for _ in 0..<5 {
        let reps = 40, start = now()
        for _ in 0..<reps { Matrix.multiply(a, b, into: &c, transposeA: transposeA) }
        best = min(best, (now() - start) / Double(reps))
    }
    return best
}

// `denoise-bench --make-audio PATH SECONDS`: only write the test audio (for scripts/compare-python.sh).
if let i = arguments.firstIndex(of: "--make-audio"), arguments.count > i + 2, let seconds = Int(arguments[i + 2]) {
    try makeAudio(seconds: seconds, path: arguments[i + 1])
    exit(0)
}

print("denoise benchmark (\(ProcessInfo.processInfo.activeProcessorCount) cores)\n")

// 1. The matrix-product bound of setting R: per frame and iteration, W·H and Wᵀ·(V/WH),
//    each 2·513·96 flops, on blocks of 512 frames.
let bins = 513, rank = 96, block = 512
let threaded = gemmSeconds(m: bins, n: block, k: rank, transposeA: false) + gemmSeconds(m: rank, n: block, k: bins, transposeA: true)
let parallel = gemmSeconds(m: bins, n: block, k: rank, transposeA: false, parallel: true)
    + gemmSeconds(m: rank, n: block, k: bins, transposeA: true, parallel: true)
let gemmPerBlock = min(threaded, parallel)
let gflops = 4.0 * Double(bins * rank * block) / gemmPerBlock / 1e9
row("sgemm, the two products of R, BLAS threads on one product", String(format: "%.1f GFLOP/s", 4.0 * Double(bins * rank * block) / threaded / 1e9))
row("sgemm, the two products of R, one product per core", String(format: "%.1f GFLOP/s", 4.0 * Double(bins * rank * block) / parallel / 1e9))
let framesPerSecond = 16000.0 / 256
let boundRTF = gemmPerBlock / Double(block) * framesPerSecond * 100
row("sgemm bound (the better of the two)", String(format: "%.1f GFLOP/s", gflops))
row("  bound on the real-time factor of R (100 iterations)", String(format: "%.4f", boundRTF))

// 2. Whole-process real-time factor on a 10-minute file.
let minutes = quick ? 2 : 10
let tenMinutes = work.appendingPathComponent("speech-\(minutes)min.wav").path
try makeAudio(seconds: 60 * minutes, path: tenMinutes)
let out = work.appendingPathComponent("out.wav").path
let r = timedRun(["run", tenMinutes, "-o", out, "--iterations", "100", "--bands", "0", "-q"])
row("run, setting R, \(minutes)-minute file, whole process", String(format: "RTF %.4f (%.2f× the bound), %.1f s", r.seconds / Double(60 * minutes), r.seconds / Double(60 * minutes) / boundRTF, r.seconds))
let d = timedRun(["run", tenMinutes, "-o", out, "-q"])
row("run, defaults, \(minutes)-minute file, whole process", String(format: "RTF %.4f (%.0f× real time), %.1f s, %.0f MB", d.seconds / Double(60 * minutes), Double(60 * minutes) / d.seconds, d.seconds, d.peakMB))

// A batch of short files (the issue's case: 64 files of 10 s, one process), with the defaults and
// with the plain general model, whose ratio is what fitting each file costs.
do {
    let count = quick ? 16 : 64
    let folder = work.appendingPathComponent("batch").path, cleaned = work.appendingPathComponent("batch-out").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let first = folder + "/clip-0.wav"
    try makeAudio(seconds: 10, path: first)
    for i in 1..<count { try FileManager.default.copyItem(atPath: first, toPath: folder + "/clip-\(i).wav") }
    func batch(_ flags: [String]) -> Double {
        try? FileManager.default.removeItem(atPath: cleaned)
        return timedRun(["run", folder, "-o", cleaned, "-q"] + flags).seconds
    }
    let plain = batch(["--noise", "general", "--no-adapt", "--no-steady-floor", "--no-pause-gate", "--bandwidth", "full"])
    let defaults = batch([])
    row("run, batch of \(count) 10 s files, plain general model", String(format: "%.2f s", plain))
    row("run, batch of \(count) 10 s files, defaults", String(format: "%.2f s (%.1f× the plain model)", defaults, defaults / plain))
    try? FileManager.default.removeItem(atPath: folder)
    try? FileManager.default.removeItem(atPath: cleaned)
} catch {
    print("batch benchmark failed: \(error)")
}

// The same at 48 kHz: the model's band plus the band above it (resampling and the upper band's suppressor).
let fullBand = work.appendingPathComponent("speech-\(minutes)min-48k.wav").path
try makeAudio(seconds: 60 * minutes, path: fullBand, rate: 48000)
let f = timedRun(["run", fullBand, "-o", out, "-q"])
row("run, defaults, \(minutes)-minute file at 48 kHz, whole process", String(format: "RTF %.4f (%.0f× real time), %.1f s, %.0f MB", f.seconds / Double(60 * minutes), Double(60 * minutes) / f.seconds, f.seconds, f.peakMB))
try? FileManager.default.removeItem(atPath: fullBand)

// 3. Training throughput: KL NMF on a spectrogram of the generated audio (rank 64).
do {
    let (audio, _) = try AudioFile.read(tenMinutes)
    let options = DictionaryTrainingOptions(kind: .speech, sampleRate: 16000, stft: STFTConfiguration(),
                                            nmf: NMFConfiguration(rank: 64, iterations: quick ? 20 : 50, tolerance: 0))
    var v = try DictionaryTrainer.trainingFrames(audio.channels[0], options: options)
    v = Matrix(rows: v.rows, cols: min(v.cols, 20000), storage: Array(v.values.prefix(v.rows * min(v.cols, 20000))))
    let start = now()
    let result = try NMF.factorize(v, configuration: options.nmf)
    let seconds = now() - start
    let n = Double(v.cols), k = 64.0, f = Double(v.rows), its = Double(result.iterations)
    // Per iteration: W·H and Wᵀ(V/WH) for H, W·H and (V/WH)·Hᵀ for W: 8·F·K·N flops.
    let flops = 8 * f * k * n * its
    let productSeconds = its * (2 * gemmSeconds(m: Int(f), n: Int(n), k: 64, transposeA: false)
                                + gemmSeconds(m: 64, n: Int(n), k: Int(f), transposeA: true)
                                + gemmSeconds(m: Int(f), n: 64, k: Int(n), transposeA: false))
    row("train, KL, rank 64, \(Int(n)) frames × \(Int(its)) iterations", String(format: "%.2f s, %.3g frame·atom·iterations/s", seconds, n * k * its / seconds))
    row("  achieved in training / sgemm alone on its products", String(format: "%.1f / %.1f GFLOP/s (%.0f%% of the time in products)", flops / seconds / 1e9, flops / productSeconds / 1e9, 100 * productSeconds / seconds))
} catch {
    print("training benchmark failed: \(error)")
}

// 3b. Adaptation's fit (run's default for files): 8 noise atoms learned beside 64 fixed speech atoms
// on the pauses (30 % of the frames) of a 10 s file and of a 60 s excerpt, 100 iterations, as
// `NoiseAdaptation` does.
do {
    let (audio, _) = try AudioFile.read(tenMinutes)
    let options = DictionaryTrainingOptions(kind: .speech, sampleRate: 16000, stft: STFTConfiguration(),
                                            nmf: NMFConfiguration(rank: 64, iterations: 1, tolerance: 0))
    let frames = try DictionaryTrainer.trainingFrames(audio.channels[0], options: options)
    let fixed = Matrix(rows: frames.rows, cols: 64, storage: Array(frames.values.prefix(frames.rows * 64)))
    let configuration = NMFConfiguration(rank: 8, iterations: 100, tolerance: 0, checkInterval: 100, seed: 0)
    for pauses in [170, 1125] {
        let v = Matrix(rows: frames.rows, cols: pauses, storage: Array(frames.values.dropFirst(frames.rows * 64).prefix(frames.rows * pauses)))
        let repeats = quick ? 3 : 10
        let start = now()
        for _ in 0..<repeats { _ = try NMF.factorize(v, configuration: configuration, fixedAtoms: fixed) }
        row("adapt, 8 atoms beside 64 fixed, \(pauses) frames × 100 its", String(format: "%.1f ms", 1000 * (now() - start) / Double(repeats)))
    }
} catch {
    print("adaptation benchmark failed: \(error)")
}

// 4. Peak memory on long files (defaults).
for hours in quick ? [] : [1, 3] {
    let long = work.appendingPathComponent("long.wav").path
    try makeAudio(seconds: 3600 * hours, path: long)
    let m = timedRun(["run", long, "-o", out, "-q"])
    row("run, defaults, \(hours)-hour file", String(format: "peak memory %.0f MB, RTF %.4f", m.peakMB, m.seconds / Double(3600 * hours)))
    try? FileManager.default.removeItem(atPath: long)
}
