import ArgumentParser
import DenoiseKit
import Foundation

/// Options shared by train-speech and train-noise.
struct TrainingArguments: ParsableArguments {
    @Argument(help: "Audio files or folders (searched recursively for WAV, FLAC, OGG, AIFF, …).")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "Where to write the dictionary (.safetensors).")
    var output: String

    @Option(parsing: .unconditional, help: "Number of atoms (default: 64 for speech, 32 for other kinds).")
    var rank: Int?

    @Option(parsing: .unconditional, help: "Maximum NMF iterations.")
    var iterations = 200

    @Option(parsing: .unconditional, help: "β of the β-divergence: 2 Euclidean, 1 Kullback-Leibler, 0 Itakura-Saito.")
    var beta: Float = 1

    @Option(parsing: .unconditional, help: "L1 penalty on the activations (sparse NMF).")
    var sparsity: Float = 0

    @Option(name: .customLong("n-fft"), parsing: .unconditional, help: "STFT frame length in samples.")
    var nFFT = 1024

    @Option(parsing: .unconditional, help: "STFT hop in samples (at most n-fft/2).")
    var hop = 256

    @Option(parsing: .unconditional, help: "Sample rate the audio is converted to and the dictionary is used at.")
    var sampleRate = 16000

    @Option(parsing: .unconditional, help: "Spectrogram exponent: 1 magnitude, 2 power, 0.5 compressed.")
    var spectrumExponent: Float = 1

    @Option(parsing: .unconditional, help: "Stop when the cost decreases by less than this fraction over 10 iterations (0: run all iterations).")
    var tolerance: Double = 1e-4

    @Option(parsing: .unconditional, help: "Seed of the random initialization.")
    var seed: UInt64 = 0

    @Flag(help: "Weigh every INPUT (file or folder) equally, whatever its duration.")
    var balance = false

    @Flag(name: .shortAndLong, help: "No progress or summary on stderr.")
    var quiet = false

    /// The library checks every range (one table of legal values); here its message becomes a usage error.
    func validate() throws {
        do { try options(kind: .speech, defaultRank: 1).validate() } catch { throw ValidationError(error.description) }
    }

    func options(kind: SpectralDictionary.Kind, defaultRank: Int) -> DictionaryTrainingOptions {
        DictionaryTrainingOptions(
            kind: kind, sampleRate: sampleRate, stft: STFTConfiguration(nFFT: nFFT, hop: hop),
            spectrumExponent: spectrumExponent,
            nmf: NMFConfiguration(rank: rank ?? defaultRank, iterations: iterations, beta: beta,
                                  sparsity: sparsity, tolerance: tolerance, seed: seed),
            balanceInputs: balance)
    }

    func train(kind: SpectralDictionary.Kind, defaultRank: Int) throws {
        try reportingErrors {
            let options = options(kind: kind, defaultRank: defaultRank)
            try AtomicOutput.checkWritable(output)
            let start = Date()
            let (dictionary, summary) = try DictionaryTrainer.train(
                inputs: inputs, options: options,
                warning: { Console.warning($0) },
                progress: quiet ? nil : { it, cost in
                    Console.progress("training \(kind.rawValue) dictionary", fraction: Double(it) / Double(iterations),
                                     detail: "iteration \(it)/\(iterations), cost \(String(format: "%.6g", cost))")
                })
            try dictionary.write(to: output)
            Console.endProgress()
            if !quiet {
                let r = summary.result
                Console.info("""
                    wrote \(output): \(kind.rawValue) dictionary, rank \(dictionary.rank), \(dictionary.bins) bins
                      from \(summary.files) files, \(formatSeconds(summary.seconds)) of audio, \(summary.frames) frames
                      \(r.iterations) iterations, final cost \(String(format: "%.6g", r.finalCost)) (\(String(format: "%.4g", r.finalCost / Double(summary.frames * dictionary.bins))) per element), \(formatSeconds(Date().timeIntervalSince(start)))
                    """)
            }
        }
    }
}

struct TrainSpeech: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-speech",
        abstract: "Learn a speech dictionary from clean speech recordings.",
        discussion: "Example:\n  denoise train-speech clean-speech/ -o speech.safetensors --rank 64")

    @OptionGroup var arguments: TrainingArguments

    func run() throws { try arguments.train(kind: .speech, defaultRank: 64) }
}

struct TrainNoise: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-noise",
        abstract: "Learn a noise dictionary from noise-only recordings.",
        discussion: "Example:\n  denoise train-noise fan.wav hum.flac -o my-noise.safetensors --rank 16")

    @OptionGroup var arguments: TrainingArguments

    func run() throws { try arguments.train(kind: .noise, defaultRank: 32) }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Learn a dictionary of any kind of source (music, hum, a voice, an instrument) from recordings of it alone.",
        discussion: """
            The kind names what the atoms model; 'separate' takes dictionaries of any kinds. \
            'train-speech' and 'train-noise' are this command with --kind speech and --kind noise.

            Examples:
              denoise train music-recordings/ -o music.safetensors --kind music --rank 64
              denoise train hum.wav -o hum.safetensors --kind hum --rank 4
            """)

    @OptionGroup var arguments: TrainingArguments

    @Option(help: "What the recordings are of: 1 to 64 letters, digits, '_' or '-' (e.g. music, hum, trumpet).")
    var kind: String

    func validate() throws {
        if SpectralDictionary.Kind(rawValue: kind) == nil {
            throw ValidationError("kind '\(kind)' must be 1 to 64 letters, digits, '_' or '-'")
        }
    }

    func run() throws {
        let kind = SpectralDictionary.Kind(rawValue: kind)!
        try arguments.train(kind: kind, defaultRank: kind == .speech ? 64 : 32)
    }
}
