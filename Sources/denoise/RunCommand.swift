import ArgumentParser
import DenoiseKit
import Foundation

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Clean a noisy recording with a speech and noise dictionaries.",
        discussion: """
            The output has the input's sample rate, channel count and length. Its format follows the
            output's extension (WAV when it names no known format). With several inputs, or when -o
            names a folder, each cleaned file is written into that folder under its own name; a file
            that fails is reported and the others are still processed.

            Examples:
              denoise run noisy.wav -o clean.wav
              denoise run noisy.flac -o clean.flac --noise babble_cafe --noise-output removed.wav
              denoise run noisy.wav -o clean.wav --speech my-voice.safetensors --noise fan.safetensors
              denoise run interviews/*.wav -o cleaned/
            """)

    @Argument(help: "The noisy recording(s).")
    var inputs: [String]

    @Option(name: [.short, .customLong("output"), .customLong("output-dir")],
            help: "Where to write the cleaned recording (a folder for several inputs).")
    var output: String

    @Option(help: "Speech dictionary (default: the shipped one).")
    var speech: String?

    @Option(help: ArgumentHelp("Noise dictionary file or shipped noise type; repeat to combine several (default: the shipped general one).",
                               valueName: "dict"))
    var noise: [String] = []

    @Option(parsing: .unconditional, help: "Multiplicative-update iterations for the activations.")
    var iterations = 100

    @Option(parsing: .unconditional, help: "Exponent p of the mask Sᵖ/(Sᵖ+Nᵖ).")
    var maskPower: Float = 2

    @Option(parsing: .unconditional, help: "L1 penalty on the activations.")
    var sparsity: Float = 0

    @Option(help: "Also write the removed part (input minus output) here (a folder for several inputs).")
    var noiseOutput: String?

    @Flag(help: "Allow the output to replace the input file (written safely, renamed into place).")
    var overwrite = false

    @Flag(name: .shortAndLong, help: "Print a summary: durations, rates, dictionaries, iterations, time.")
    var verbose = false

    @Flag(name: .shortAndLong, help: "No warnings or progress.")
    var quiet = false

    var options: DenoiserOptions { DenoiserOptions(iterations: iterations, maskPower: maskPower, sparsity: sparsity) }

    func validate() throws {
        do { try options.validate() } catch { throw ValidationError(error.description) }
    }

    /// Batch mode: several inputs, or an existing folder as the output.
    var isBatch: Bool {
        var isDirectory: ObjCBool = false
        return inputs.count > 1 || (FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory) && isDirectory.boolValue)
    }

    func run() throws {
        let start = Date()
        var denoiser: Denoiser?
        try reportingErrors { denoiser = try makeDenoiser() }
        guard let denoiser else { return }
        guard isBatch else {
            try reportingErrors { try clean(inputs[0], to: output, noiseTo: noiseOutput, with: denoiser, start: start) }
            return
        }
        var failures = 0
        for (i, input) in inputs.enumerated() {
            let name = URL(fileURLWithPath: input).lastPathComponent
            if !quiet { Console.progress("[\(i + 1)/\(inputs.count)] \(name)", fraction: Double(i) / Double(inputs.count)) }
            do {
                try clean(input, to: (output as NSString).appendingPathComponent(name),
                          noiseTo: noiseOutput.map { ($0 as NSString).appendingPathComponent(name) }, with: denoiser, start: Date())
            } catch let error as DenoiseError {
                Console.endProgress()
                Console.error(error.description)
                failures += 1
            }
        }
        Console.endProgress()
        if !quiet || failures > 0 {
            Console.info("cleaned \(inputs.count - failures) of \(inputs.count) files into \(output) in \(formatSeconds(Date().timeIntervalSince(start)))")
        }
        if failures > 0 { throw ExitCode.failure }
    }

    func makeDenoiser() throws -> Denoiser {
        let speechDictionary = try SpectralDictionary.load(speech ?? ShippedDictionaries.speechPath())
        var noiseDictionaries: [SpectralDictionary] = []
        for n in noise.isEmpty ? [try ShippedDictionaries.noisePath()] : noise {
            noiseDictionaries.append(try SpectralDictionary.load(try ShippedDictionaries.resolveNoise(n)))
        }
        if !quiet {
            if speechDictionary.kind != .speech { Console.warning("\(speechDictionary.label) is used as the speech dictionary") }
            for d in noiseDictionaries where d.kind != .noise { Console.warning("\(d.label) is used as a noise dictionary") }
        }
        return try Denoiser(speech: speechDictionary, noise: noiseDictionaries,
                            options: options)
    }

    func clean(_ input: String, to output: String, noiseTo noiseOutput: String?, with denoiser: Denoiser, start: Date) throws {
        for target in [output] + (noiseOutput.map { [$0] } ?? []) where !overwrite && samePath(input, target) {
            throw DenoiseError.unwritableOutput(path: target, reason: "it is the input file; pass --overwrite to replace it")
        }
        let name = URL(fileURLWithPath: input).lastPathComponent
        let showProgress = !quiet && Console.isTerminal
        let report = try denoiser.cleanFile(input, to: output, removedTo: noiseOutput, progress: showProgress ? { done in
            Console.progress("cleaning \(name)", fraction: done)
        } : nil)
        Console.endProgress()
        if report.nonFiniteSamples > 0, !quiet {
            Console.warning("'\(input)': \(report.nonFiniteSamples) NaN/Inf samples treated as 0")
        }
        if verbose {
            let elapsed = Date().timeIntervalSince(start)
            let sp = denoiser.speech
            Console.info("""
                input:  \(input): \(formatSeconds(report.duration)), \(report.sampleRate) Hz, \(report.channelCount) channel(s), \(report.format)
                speech: \(sp.label), rank \(sp.rank)
                noise:  \(denoiser.noise.map { "\($0.label), rank \($0.rank)" }.joined(separator: "; "))
                model:  \(denoiser.sampleRate) Hz, n-fft \(sp.stft.nFFT), hop \(sp.stft.hop), beta \(sp.beta), \(iterations) iterations, mask power \(maskPower), \(denoiser.usesMaskBases ? "discriminative mask bases" : "mask from the dictionaries")
                output: \(output)\(noiseOutput.map { ", removed part: \($0)" } ?? "")
                time:   \(formatSeconds(elapsed)) (\(String(format: "%.4f", elapsed / max(report.duration, 1e-9))) × real time)
                """)
        }
    }
}

/// Whether two paths name the same file (the second may not exist yet).
func samePath(_ a: String, _ b: String) -> Bool {
    let ra = URL(fileURLWithPath: a).resolvingSymlinksInPath().standardized.path
    let rb = URL(fileURLWithPath: b).resolvingSymlinksInPath().standardized.path
    return ra == rb
}
