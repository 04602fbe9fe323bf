import ArgumentParser
import DenoiseKit
import Foundation

/// `run`'s noise models: the dictionaries given, `--noise auto`'s choice per file, `--noise-sample`, `--adapt`.
extension Run {
    func makeDenoiser() throws -> Denoiser {
        let speechDictionary = try SpectralDictionary.load(speech ?? ShippedDictionaries.speechPath())
        var noiseDictionaries: [SpectralDictionary] = []
        for n in noise.isEmpty || isAuto ? [try ShippedDictionaries.noisePath()] : noise {
            noiseDictionaries.append(try SpectralDictionary.load(try ShippedDictionaries.resolveNoise(n)))
        }
        for sample in noiseSample {
            noiseDictionaries.append(try DictionaryTrainer.noiseProfile(sample, for: speechDictionary, warning: { Console.warning($0) }))
        }
        if !quiet {
            if speechDictionary.kind != .speech { Console.warning("\(speechDictionary.label) is used as the speech dictionary") }
            for d in noiseDictionaries where d.kind != .noise { Console.warning("\(d.label) is used as a noise dictionary") }
        }
        let denoiser = try Denoiser(speech: speechDictionary, noise: noiseDictionaries, options: options)
        if !quiet { for warning in denoiser.warnings { Console.warning(warning) } }
        return denoiser
    }

    /// `--noise auto` (the default for files): `general`'s denoiser with its first noise dictionary
    /// replaced by the one of `choices` that fits the beginning of `input` best.
    func chooseNoise(for input: String, _ general: Denoiser, _ choices: NoiseChoices) throws -> (Denoiser, String) {
        // An unreadable input is reported by the cleaning itself, in its own words.
        guard let choice = try? NoiseSelection.choose(forFile: input, speech: general.speech, candidates: choices.dictionaries,
                                                      options: general.options) else { return (general, "general") }
        if !quiet, noise == ["auto"] || verbose {
            Console.info("\(URL(fileURLWithPath: input).lastPathComponent): noise \(choices.names[choice.index])")
        }
        guard choice.index > 0 else { return (general, "general") }
        return (try Denoiser(speech: general.speech, noise: [try choices.whole(choice.index)] + general.noise.dropFirst(),
                             options: general.options), choices.names[choice.index])
    }

    /// `--bandwidth auto` (the default for files): `denoiser` solving only below the frequency above
    /// which `input` holds nothing, and that frequency; `denoiser` itself for a full-band input.
    func bandLimited(_ denoiser: Denoiser, to input: String) throws -> (Denoiser, Double?) {
        guard bandwidth == .auto, let signal = try? Resampler.readMono(input, at: denoiser.sampleRate, seconds: NoiseAdaptation.excerptSeconds).signal,
              let cutoff = InputBandwidth.cutoff(signal, stft: try STFT(denoiser.speech.stft), sampleRate: denoiser.sampleRate) else {
            return (denoiser, nil)
        }
        var options = denoiser.options
        options.bandwidth = cutoff
        return (try Denoiser(speech: denoiser.speech, noise: denoiser.noise, options: options), cutoff)
    }

    /// Adaptation (the default for files): `denoiser` with noise atoms learned from the pauses of
    /// `input` beside its own, and whether they were; a recording too short (or without pauses) to
    /// learn from is cleaned without them (said when --adapt was asked for).
    func adapted(_ denoiser: Denoiser, to input: String) throws -> (Denoiser, Bool) {
        let learned: SpectralDictionary
        do {
            learned = try NoiseAdaptation.learn(forFile: input, speech: denoiser.speech, noise: denoiser.noise[0],
                                                options: denoiser.options)
        } catch .noAudio(let reason) {
            if !quiet, adapt == true { Console.warning("'\(input)': --adapt skipped, \(reason)") }
            return (denoiser, false)
        }
        return (try Denoiser(speech: denoiser.speech, noise: denoiser.noise + [learned], options: denoiser.options), true)
    }


    /// The noise model a file was cleaned with, as the log and report name it.
    func noiseName(chosen: String?, adapted: Bool) -> String {
        var parts = [chosen ?? (isAuto || noise.isEmpty ? "general" : noise.joined(separator: " + "))]
        parts += noiseSample.map { "sample \(URL(fileURLWithPath: $0).lastPathComponent)" }
        if adapted { parts.append("adapted to the file") }
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
    func whole(_ index: Int) throws -> SpectralDictionary {
        index == 0 ? dictionaries[0] : try SpectralDictionary.load(try ShippedDictionaries.resolveNoise(names[index]))
    }
}
