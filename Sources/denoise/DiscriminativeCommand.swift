import ArgumentParser
import DenoiseKit
import Foundation

struct TrainDiscriminative: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-discriminative",
        abstract: "Train mask bases discriminatively on mixtures: a noise dictionary's for run, or every source's for separate (--source).",
        discussion: """
            Makes mixtures of the given clean speech and noise recordings, solves their activations with \
            the speech and noise dictionaries as 'run' does, and trains reconstruction bases so that the \
            masked mixture matches the clean speech (Weninger et al. 2014). The result is the noise \
            dictionary carrying those bases; 'run' builds its mask from them whenever the speech \
            dictionary is the one given here (the first noise dictionary carrying such bases lends them).

            Example:
              denoise train-discriminative --speech-dict speech.safetensors --noise-dict fan.safetensors \\
                  --speech clean-speech/ --noise fan-recordings/ -o fan.safetensors

            With --source (two or more), it trains separation bases for 'separate' instead: every source a \
            target, one mask per source; each dictionary is written again, carrying its bases, to \
            DIR/NAME.safetensors, and 'separate' uses them when given exactly these dictionaries.
              denoise train-discriminative --source speech=speech --source music=music.safetensors \\
                  --audio speech=clean-speech/ --audio music=songs/ -o speech+music/
              denoise separate video.wav -o parts/ --source speech=speech+music/speech.safetensors \\
                  --source music=speech+music/music.safetensors
            """)

    @Option(help: "The speech dictionary 'run' will use.")
    var speechDict: String?

    @Option(help: "The noise dictionary to add mask bases to.")
    var noiseDict: String?

    @Option(parsing: .upToNextOption, help: "Clean speech files or folders.")
    var speech: [String] = []

    @Option(parsing: .upToNextOption, help: "Noise files or folders; each one named weighs the same.")
    var noise: [String] = []

    @Option(name: .customLong("source"), help: ArgumentHelp("For 'separate': a source and its dictionary; repeat for each source (instead of --speech-dict and --noise-dict).", valueName: "name=dict"))
    var sources: [SourceArgument] = []

    @Option(name: .customLong("audio"), help: ArgumentHelp("For 'separate': recordings of one source alone (a file or folder); repeatable, each source needs one.", valueName: "name=path"))
    var audio: [SourceArgument] = []

    @Option(help: "For 'separate': comma-separated levels in dB of the first source over each other one in the mixtures.")
    var levels = NumberList([-5, 0, 5])

    @Option(name: .shortAndLong, help: "Where to write the noise dictionary with mask bases (with --source: a folder, one NAME.safetensors per source).")
    var output: String

    @Option(parsing: .unconditional, help: "Number of training mixtures.")
    var mixtures = 60

    @Option(parsing: .unconditional, help: "Length of each mixture in seconds.")
    var seconds = 6.0

    @Option(help: "Comma-separated SNRs in dB the mixtures are made at.")
    var snrs = NumberList([-5, 0, 5, 10])

    @Option(parsing: .unconditional, help: "Noise recordings summed in each mixture, each from another --noise argument, each later one 0-12 dB under the ones before it.")
    var noiseSources = 1

    @Option(parsing: .unconditional, help: "Update iterations on the bases.")
    var iterations = 40

    @Option(parsing: .unconditional, help: "Activation iterations, as 'run --iterations' will use.")
    var runIterations = DenoiserOptions().iterations

    @Option(parsing: .unconditional, help: "Activation sparsity, as 'run --sparsity' will use.")
    var runSparsity: Float = 0

    @Option(parsing: .unconditional, help: "Bands of the activation solve, as 'run --bands' will use.")
    var runBands = DenoiserOptions().bands

    @Option(parsing: .unconditional, help: "Mask exponent the bases are trained through, as 'run --mask-power' (default 2) or 'separate --mask-power' (default 1) will use.")
    var maskPower: Float?

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

    @Option(parsing: .unconditional, help: "Pull of the solve layers' atoms back toward the dictionaries' (decoupled weight decay on their logarithms; 0: none).")
    var layerDecay = DiscriminativeOptions().layerDecay

    @Option(parsing: .unconditional, help: "Seed of the mixture draw.")
    var seed: UInt64 = 0

    @Flag(name: .shortAndLong, help: "No summary on stderr.")
    var quiet = false

    func validate() throws {
        if !sources.isEmpty { return try validateSeparation() }
        if speechDict == nil || noiseDict == nil { throw ValidationError("give --speech-dict and --noise-dict (or --source for each source of 'separate')") }
        if speech.isEmpty || noise.isEmpty { throw ValidationError("--speech and --noise each need at least one file or folder") }
        if !audio.isEmpty { throw ValidationError("--audio goes with --source") }
        do { try options(snrs.values).validate() } catch { throw ValidationError(error.description) }
    }

    func validateSeparation() throws {
        try SourceArgument.validate(sources)
        if speechDict != nil || noiseDict != nil || !speech.isEmpty || !noise.isEmpty {
            throw ValidationError("--source cannot be combined with --speech-dict, --noise-dict, --speech or --noise")
        }
        for a in audio where !sources.contains(where: { $0.name == a.name }) {
            throw ValidationError("--audio \(a.name)=… names no --source")
        }
        for s in sources where !audio.contains(where: { $0.name == s.name }) {
            throw ValidationError("source '\(s.name)' needs its recordings: --audio \(s.name)=FILES")
        }
        do { try separationOptions(levels.values).validate() } catch { throw ValidationError(error.description) }
        if contextPast != 0 || contextFuture != 0 || solveLayers != 0 || maskBeta != 1 {
            throw ValidationError("separation bases are trained per frame with KL: --context-*, --solve-layers and --mask-beta do not apply")
        }
    }

    func separationOptions(_ levels: [Float]) -> SeparationTrainingOptions {
        SeparationTrainingOptions(mixtures: mixtures, seconds: seconds, levels: levels, iterations: iterations,
                                  run: SeparatorOptions(iterations: runIterations, maskPower: maskPower ?? SeparatorOptions().maskPower,
                                                        sparsity: runSparsity, bands: runBands),
                                  seed: seed)
    }

    /// `--source`: separation bases for every source, one dictionary file each in the output folder.
    func trainSeparation() throws {
        let start = Date()
        var loaded: [Separator.Source] = []
        for s in sources { loaded.append(try s.load()) }
        let paths = sources.map { (output as NSString).appendingPathComponent("\($0.name).safetensors") }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        for p in paths { try AtomicOutput.checkWritable(p) }
        let rate = loaded[0].dictionary.sampleRate
        var signals: [[[Float]]] = []
        for s in sources {
            signals.append(try DiscriminativeTrainer.loadSignals(audio.filter { $0.name == s.name }.map(\.value), sampleRate: rate))
            if signals.last!.isEmpty { throw DenoiseError.noAudio("no recordings of source '\(s.name)'") }
        }
        let opts = separationOptions(levels.values)
        let mixtures = SourceMaskTrainer.makeMixtures(signals: signals, options: opts, sampleRate: rate)
        let (trained, costs) = try SourceMaskTrainer.train(
            sources: loaded, mixtures: mixtures, options: opts,
            progress: quiet ? nil : { step, steps, cost in
                Console.progress("training separation bases", fraction: Double(step) / Double(steps),
                                 detail: "step \(step)/\(steps), cost \(String(format: "%.6g", cost))")
            })
        Console.endProgress()
        for (d, p) in zip(trained, paths) { try d.write(to: p) }
        if !quiet {
            Console.info("""
                wrote \(paths.joined(separator: ", ")): separation bases for \(sources.map(\.name).joined(separator: " + "))
                  \(mixtures.count) mixtures of \(formatSeconds(seconds)), \(iterations) iterations, Σ KL(source ‖ masked mixture) \(String(format: "%.6g", costs.first!)) → \(String(format: "%.6g", costs.last!)), \(formatSeconds(Date().timeIntervalSince(start)))
                """)
        }
    }

    func options(_ snrs: [Float]) -> DiscriminativeOptions {
        DiscriminativeOptions(mixtures: mixtures, seconds: seconds, snrs: snrs, noiseSources: noiseSources, iterations: iterations,
                              run: DenoiserOptions(iterations: runIterations, maskPower: maskPower ?? DenoiserOptions().maskPower,
                                                   sparsity: runSparsity, bands: runBands),
                              context: MaskContext(past: contextPast, future: contextFuture),
                              maskBeta: maskBeta, layers: solveLayers, layerSteps: layerSteps, layerRate: layerRate, layerDecay: layerDecay, seed: seed)
    }

    func run() throws {
        try reportingErrors {
            if !sources.isEmpty { return try trainSeparation() }
            let start = Date()
            try AtomicOutput.checkWritable(output)
            let speechDictionary = try SpectralDictionary.load(speechDict!)
            let noiseDictionary = try SpectralDictionary.load(try ShippedDictionaries.resolveNoise(noiseDict!))
            let rate = speechDictionary.sampleRate
            let speechSignals = try DiscriminativeTrainer.loadSignals(speech, sampleRate: rate)
            var noiseGroups: [[[Float]]] = []
            for n in noise { noiseGroups.append(try DiscriminativeTrainer.loadSignals([n], sampleRate: rate)) }
            let opts = options(snrs.values)
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
