import ArgumentParser
import DenoiseKit
import Foundation

struct TrainDiscriminative: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-discriminative",
        abstract: "Train a noise dictionary's mask bases discriminatively on mixtures of speech and noise.",
        discussion: """
            Makes mixtures of the given clean speech and noise recordings, solves their activations with \
            the speech and noise dictionaries as 'run' does, and trains reconstruction bases so that the \
            masked mixture matches the clean speech (Weninger et al. 2014). The result is the noise \
            dictionary carrying those bases; 'run' builds its mask from them whenever the speech \
            dictionary is the one given here (the first noise dictionary carrying such bases lends them).

            Example:
              denoise train-discriminative --speech-dict speech.safetensors --noise-dict fan.safetensors \\
                  --speech clean-speech/ --noise fan-recordings/ -o fan.safetensors
            """)

    @Option(help: "The speech dictionary 'run' will use.")
    var speechDict: String

    @Option(help: "The noise dictionary to add mask bases to.")
    var noiseDict: String

    @Option(parsing: .upToNextOption, help: "Clean speech files or folders.")
    var speech: [String]

    @Option(parsing: .upToNextOption, help: "Noise files or folders; each one named weighs the same.")
    var noise: [String]

    @Option(name: .shortAndLong, help: "Where to write the noise dictionary with mask bases.")
    var output: String

    @Option(parsing: .unconditional, help: "Number of training mixtures.")
    var mixtures = 60

    @Option(parsing: .unconditional, help: "Length of each mixture in seconds.")
    var seconds = 6.0

    @Option(help: "Comma-separated SNRs in dB the mixtures are made at.")
    var snrs = "-5,0,5,10"

    @Option(parsing: .unconditional, help: "Update iterations on the bases.")
    var iterations = 40

    @Option(parsing: .unconditional, help: "Activation iterations, as 'run --iterations' will use.")
    var runIterations = DenoiserOptions().iterations

    @Option(parsing: .unconditional, help: "Activation sparsity, as 'run --sparsity' will use.")
    var runSparsity: Float = 0

    @Option(parsing: .unconditional, help: "Bands of the activation solve, as 'run --bands' will use.")
    var runBands = DenoiserOptions().bands

    @Option(parsing: .unconditional, help: "Mask exponent the bases are trained through (as 'run --mask-power' will use).")
    var maskPower = DenoiserOptions().maskPower

    @Option(parsing: .unconditional, help: "Earlier frames whose activations also build a frame's mask.")
    var contextPast = 0

    @Option(parsing: .unconditional, help: "Later frames whose activations also build a frame's mask (adds that many hops of latency).")
    var contextFuture = 0

    @Option(parsing: .unconditional, help: "Beta of the divergence between the target and the masked mixture (1: Kullback-Leibler, 0: Itakura-Saito).")
    var maskBeta: Float = 1

    @Option(parsing: .unconditional, help: "Last iterations of the activation solve that get atoms of their own, trained with the bases (deep NMF; 0: none).")
    var solveLayers = 0

    @Option(parsing: .unconditional, help: "Alternating training steps of the solve layers and the bases.")
    var layerSteps = DiscriminativeOptions().layerSteps

    @Option(parsing: .unconditional, help: "Step size of the solve layers' training (Adam on their logarithms).")
    var layerRate = DiscriminativeOptions().layerRate

    @Option(parsing: .unconditional, help: "Seed of the mixture draw.")
    var seed: UInt64 = 0

    @Flag(name: .shortAndLong, help: "No summary on stderr.")
    var quiet = false

    func validate() throws {
        if speech.isEmpty || noise.isEmpty { throw ValidationError("--speech and --noise each need at least one file or folder") }
        if parsedSNRs == nil { throw ValidationError("--snrs must be comma-separated numbers (got '\(snrs)')") }
        do { try options(parsedSNRs ?? []).validate() } catch { throw ValidationError(error.description) }
    }

    var parsedSNRs: [Float]? {
        let parts = snrs.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        return parts.isEmpty || parts.contains(nil) ? nil : parts.map { $0! }
    }

    func options(_ snrs: [Float]) -> DiscriminativeOptions {
        DiscriminativeOptions(mixtures: mixtures, seconds: seconds, snrs: snrs, iterations: iterations,
                              run: DenoiserOptions(iterations: runIterations, maskPower: maskPower, sparsity: runSparsity, bands: runBands),
                              context: MaskContext(past: contextPast, future: contextFuture),
                              maskBeta: maskBeta, layers: solveLayers, layerSteps: layerSteps, layerRate: layerRate, seed: seed)
    }

    func run() throws {
        try reportingErrors {
            let start = Date()
            try AtomicOutput.checkWritable(output)
            let speechDictionary = try SpectralDictionary.load(speechDict)
            let noiseDictionary = try SpectralDictionary.load(try ShippedDictionaries.resolveNoise(noiseDict))
            let rate = speechDictionary.sampleRate
            let speechSignals = try DiscriminativeTrainer.loadSignals(speech, sampleRate: rate)
            var noiseGroups: [[[Float]]] = []
            for n in noise { noiseGroups.append(try DiscriminativeTrainer.loadSignals([n], sampleRate: rate)) }
            let opts = options(parsedSNRs!)
            let mixtures = DiscriminativeTrainer.makeMixtures(speech: speechSignals, noiseGroups: noiseGroups, options: opts, sampleRate: rate)
            let label = solveLayers > 0 ? "training mask bases and solve layers" : "training mask bases"
            let (result, costs) = try DiscriminativeTrainer.train(
                speech: speechDictionary, noise: noiseDictionary, mixtures: mixtures, options: opts,
                progress: quiet ? nil : { step, steps, cost in
                    Console.progress(label, fraction: Double(step) / Double(steps),
                                     detail: "step \(step)/\(steps), cost \(String(format: "%.6g", cost))")
                })
            Console.endProgress()
            try result.write(to: output)
            if !quiet {
                Console.info("""
                    wrote \(output): \(noiseDictionary.kind.rawValue) dictionary with mask bases for \(speechDictionary.label)
                      \(mixtures.count) mixtures of \(formatSeconds(seconds)), \(iterations) iterations\(solveLayers > 0 ? ", \(solveLayers) solve layers, \(layerSteps) steps" : ""), d(target ‖ masked mixture) \(String(format: "%.6g", costs.first!)) → \(String(format: "%.6g", costs.last!)), \(formatSeconds(Date().timeIntervalSince(start)))
                    """)
            }
        }
    }
}
