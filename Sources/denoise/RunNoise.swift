import ArgumentParser
import DenoiseKit
import Foundation

/// `run`'s noise models: the dictionaries given, `--noise auto`'s choice per file, `--noise-sample`, `--adapt`.
extension Run {
    func makeDenoiser() throws -> Denoiser {
        let speechDictionary = try SpectralDictionary.load(speech ?? ShippedDictionaries.speechPath())
        var noiseDictionaries: [SpectralDictionary] = []
        for n in noise.isEmpty || isAuto ? [try ShippedDictionaries.noisePath()] : noise {
            if !quiet, let note = ShippedDictionaries.retirementNote(n) { Console.warning(note) }
            noiseDictionaries.append(try SpectralDictionary.load(try ShippedDictionaries.resolveNoise(n)))
        }
        for sample in noiseSample {
            noiseDictionaries.append(try DictionaryTrainer.noiseProfile(sample, for: speechDictionary, warning: { Console.warning($0) }))
        }
        if !quiet {
            if speechDictionary.kind != .speech { Console.warning("\(speechDictionary.label) is used as the speech dictionary") }
            for d in noiseDictionaries where d.kind != .noise { Console.warning("\(d.label) is used as a noise dictionary") }
        }
        var denoiser = try Denoiser(speech: speechDictionary, noise: noiseDictionaries, options: options)
        // The noise is given: whatever stands clearly above it is kept (`SpeechGuard`).
        if !noiseSample.isEmpty { denoiser = try denoiser.withSpeechGuard(try denoiser.speechGuard(noiseSamples: noiseSample)) }
        if !quiet { for warning in denoiser.warnings { Console.warning(warning) } }
        return denoiser
    }

    /// What `run` fits to one file before cleaning it, all from its first minute (read once): the
    /// band it holds, the noise dictionary (`--noise auto`), atoms from its pauses, its steady noise.
    struct FileFit {
        var cutoff: Double?
        var chosen: String?
        var adapted = false
        var steady = false
        /// The activations solved while measuring the floor and the gate, for the cleaning to reuse.
        var known: KnownActivations?
    }

    /// Whether the options ask for anything to be fitted to each file.
    var fitsFiles: Bool { bandwidth == .auto || isAuto || adapts || steadyFloors || pauseGates }

    /// `given` fitted as the options ask to `signal`, the beginning of (a section of) `input` (mono, at
    /// the model's rate; `isWhole`: all of what will be cleaned with the result).
    func fit(_ given: Denoiser, to signal: [Float], isWhole whole: Bool, of input: String, _ choices: NoiseChoices) throws(DenoiseError) -> (Denoiser, FileFit) {
        var fit = FileFit(chosen: isAuto ? "general" : nil), denoiser = given
        if bandwidth == .auto, let cutoff = InputBandwidth.cutoff(signal, stft: try STFT(given.speech.stft), sampleRate: given.sampleRate) {
            var options = given.options
            options.bandwidth = cutoff
            denoiser = try given.rebuilt { $0.options = options }
            fit.cutoff = cutoff
        }
        if isAuto { (denoiser, fit.chosen) = try chooseNoise(for: input, signal, denoiser, choices) }
        if adapts { (denoiser, fit.adapted) = try adapted(denoiser, to: input, signal) }
        guard steadyFloors || pauseGates else { return (denoiser, fit) }
        // Both are measured on the same speech estimate of the beginning (one solve, which the
        // cleaning reuses: the floor and the gate change the mask, not the activations).
        let (speech, known) = denoiser.fitBeginning(signal, isWhole: whole)
        fit.known = known
        let floor = steadyFloors ? SteadyNoise.floor(of: speech) : nil
        let gate = pauseGates ? PauseGate.measured(on: speech, denoiser: denoiser) : nil
        fit.steady = floor != nil
        if floor != nil || gate != nil {
            denoiser = try denoiser.rebuilt { $0.steadyNoise = floor; $0.pauseGate = gate }
        }
        return (denoiser, fit)
    }

    /// Seconds of each file read for its fit: as much as any part uses.
    static let fitSeconds = max(NoiseAdaptation.excerptSeconds, NoiseSelection.excerptSeconds, SteadyNoise.excerptSeconds)

    /// `--noise auto` (the default for files): `general`'s denoiser with its first noise dictionary
    /// replaced by the one of `choices` that fits the beginning of `signal` (from `input`) best.
    func chooseNoise(for input: String, _ signal: [Float], _ general: Denoiser, _ choices: NoiseChoices) throws(DenoiseError) -> (Denoiser, String) {
        let choice = try NoiseSelection.choose(signal, speech: general.speech, candidates: choices.dictionaries, options: general.options)
        if !quiet, noise == ["auto"] || verbose {
            Console.info("\(URL(fileURLWithPath: input).lastPathComponent): noise \(choices.names[choice.index])")
        }
        guard choice.index > 0 else { return (general, "general") }
        let chosen = try choices.whole(choice.index)
        return (try general.rebuilt { $0.noise = [chosen] + $0.noise.dropFirst() }, choices.names[choice.index])
    }

    /// Adaptation (the default for files): `denoiser` with noise atoms learned from the pauses of
    /// `signal` (from `input`) beside its own, and whether they were; a recording too short (or
    /// without pauses) to learn from is cleaned without them (said when --adapt was asked for).
    func adapted(_ denoiser: Denoiser, to input: String, _ signal: [Float]) throws(DenoiseError) -> (Denoiser, Bool) {
        let learned: SpectralDictionary
        do {
            learned = try NoiseAdaptation.learn(signal, speech: denoiser.speech, noise: denoiser.noise[0], options: denoiser.options)
        } catch .noAudio(let reason) {
            if !quiet, adapt == true { Console.warning("'\(input)': --adapt skipped, \(reason)") }
            return (denoiser, false)
        }
        return (try denoiser.rebuilt { $0.noise.append(learned) }, true)
    }

    /// The noise model a file was cleaned with (the fit of each of its sections), as the log and
    /// report name it.
    func noiseName(_ fits: [FileFit]) -> String {
        let chosen = fits.compactMap(\.chosen).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        var parts = [chosen.isEmpty ? (isAuto || noise.isEmpty ? "general" : noise.joined(separator: " + ")) : chosen.joined(separator: " / ")]
        parts += noiseSample.map { "sample \(URL(fileURLWithPath: $0).lastPathComponent)" }
        let adapted = fits.filter(\.adapted).count
        if adapted > 0 { parts.append(fits.count > 1 ? "adapted to \(adapted) of \(fits.count) sections" : "adapted to the file") }
        if fits.contains(where: \.steady) { parts.append("steady floor") }
        return parts.joined(separator: " + ")
    }
}

/// The noise dictionaries `--noise auto` chooses from, the general model first: loaded once per run.
/// The choice fits only their atoms, so the types are kept without their mask bases and solve
/// layers (2.6 MB each in memory) and the chosen one is read again whole.
struct NoiseChoices: Sendable {
    var names: [String] = []
    var dictionaries: [SpectralDictionary] = []

    init() {}

    init(general: SpectralDictionary) throws {
        names = ["general"]
        dictionaries = [general]
        for type in ShippedDictionaries.noiseTypes() {
            let atoms = try SpectralDictionary.load(try ShippedDictionaries.resolveNoise(type)).withoutMaskBases
            names.append(type)
            dictionaries.append(atoms)
        }
    }

    /// Candidate `index` whole, with its mask bases and layers.
    func whole(_ index: Int) throws(DenoiseError) -> SpectralDictionary {
        index == 0 ? dictionaries[0] : try SpectralDictionary.load(try ShippedDictionaries.resolveNoise(names[index]))
    }
}
