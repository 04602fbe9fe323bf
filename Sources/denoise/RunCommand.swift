import ArgumentParser
import DenoiseKit
import Foundation

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Clean a noisy recording with speech and noise dictionaries.",
        discussion: """
            The output has the input's sample rate, channel count and length. Its format follows the \
            output's extension (WAV when it names no known format). By default the noise dictionary \
            general noise model is used, with noise atoms learned from the file's own pauses beside it \
            (--no-adapt: without them) and the steady floor of the speech estimate counted as noise \
            (--no-steady-floor: not), and the pauses turned further down (--no-pause-gate: not). With several inputs, folders (searched recursively, \
            mirrored), --files-from, or when -o names a folder, each cleaned file is written into that \
            folder; a file that fails is reported and the others are still processed.

            Examples:
              denoise run noisy.wav -o clean.wav
              denoise run noisy.flac -o clean.flac --noise wind --noise-output removed.wav
              denoise run noisy.wav -o clean.wav --speech my-voice.safetensors --noise fan.safetensors
              denoise run noisy.wav -o clean.wav --noise-sample room-tone.wav
              denoise run interviews/*.wav -o cleaned/ --jobs 2
              denoise run archive/ -o cleaned/ --jobs 2 --skip-existing --log cleaned.jsonl --report
              denoise run noisy.wav -o clean.wav --plot what-was-removed.png
              arecord -f S16_LE -r 16000 -c 1 -t raw | denoise run - -o - --format s16 --sample-rate 16000 | aplay -f S16_LE -r 16000
              denoise run - -o - < noisy.wav > clean.wav

            '-' as the input reads standard input and '-' as the output writes standard output, as the \
            audio arrives: a WAV stream, or raw little-endian PCM with --format/--sample-rate/--channels. \
            A sample leaves at most one window, one hop and the mask's future context after it arrived \
            (160 ms with the shipped dictionaries). A stream is not adapted to; it tracks the steady \
            floor and the pause gate's level as it goes.
            """)

    @Argument(help: "The noisy recording(s), or folders of them (searched recursively; the output folder mirrors their subfolders).")
    var inputs: [String] = []

    @Option(name: [.short, .customLong("output"), .customLong("output-dir")],
            help: "Where to write the cleaned recording (a folder for several inputs).")
    var output: String

    @Option(help: "Speech dictionary (default: the shipped one).")
    var speech: String?

    @Option(help: ArgumentHelp("Noise dictionary file or shipped noise type ('general' for the general model); repeat to combine several (default 'general', the general model; 'auto': for each file the shipped one that fits it clearly best).",
                               valueName: "dict"))
    var noise: [String] = []

    @Option(help: ArgumentHelp("A noise-only recording (a few seconds of the same noise): a noise dictionary is learned from it and used beside the others, and whatever stands clearly above that noise is kept whole; repeatable.",
                               valueName: "file"))
    var noiseSample: [String] = []

    @Flag(inversion: .prefixedNo, help: "Learn noise atoms from the recording's own pauses (semi-supervised), used beside the noise dictionaries (default for files; streams cannot be read ahead).")
    var adapt: Bool?

    /// Whether files are adapted to: by default (xrec: +0.5 dB SI-SDR, +0.8 at −5 and 0 dB, even at
    /// +5 and +10; real recordings: DNSMOS BAK +0.18, OVRL +0.11), unless --no-adapt.
    var adapts: Bool { adapt ?? !isStream }

    @Option(help: ArgumentHelp("The band the solve fits: 'auto' (for files: an input that holds nothing above some frequency, like a phone or codec's, is fitted only below it), 'full', or that frequency in Hz.",
                               valueName: "auto|full|Hz"))
    var bandwidth = BandwidthChoice.auto

    @Flag(inversion: .prefixedNo, help: "Count the steady floor of the speech estimate (the steady noise the speech atoms explain) as noise (default; files measure it on their beginning, streams track it as they go).")
    var steadyFloor: Bool?

    /// Whether the steady floor is counted: by default (files, xrec: ΔSI-SDR +4.10 → +4.96, ΔPESQ
    /// +0.21 → +0.26; real recordings: DNSMOS BAK 2.96 → 3.17 at equal SIG; streams: README), unless
    /// --no-steady-floor.
    var steadyFloors: Bool { steadyFloor ?? true }

    @Flag(inversion: .prefixedNo, help: "Turn the cleaned pauses further down (frames far below the recording's loud speech of which the mask kept little; default; streams follow the loud speech's level as they go).")
    var pauseGate: Bool?

    /// Whether the pauses are gated: by default (files, real recordings: DNSMOS BAK 3.33 → 3.43,
    /// OVRL 2.66 → 2.70; xrec unchanged but ΔPESQ −0.007; streams: README), unless --no-pause-gate.
    var pauseGates: Bool { pauseGate ?? true }

    @Option(parsing: .unconditional, help: ArgumentHelp("Fit the model (adaptation, steady floor, pause gate, --noise auto, band) to each section of a long file, at most this many seconds long, cross-faded at the joins; 0: once, to the file's first minute.",
                                                        valueName: "seconds"))
    var sections = RecordingSections.seconds

    @OptionGroup(title: "Solve") var solve: SolveOptions

    @Option(parsing: .unconditional, help: "Lowest gain of the mask (0 to 1): keeps some noise, against musical noise.")
    var gainFloor: Float = DenoiserOptions().gainFloor

    @Option(parsing: .unconditional, help: "Exponent γ of the gain: the mask M is applied as M^γ (1: the mask itself; above 1 mostly-noise bins are lowered more).")
    var gainExponent: Float = DenoiserOptions().gainExponent

    @Option(help: "Also write the removed part (input minus output) here (a folder for several inputs).")
    var noiseOutput: String?

    @Option(help: ArgumentHelp("Layout of '-' streams: wav, or raw little-endian u8, s16, s24, s32, f32.", valueName: "format"))
    var format = StreamLayout.wav

    @Option(name: .customLong("sample-rate"), parsing: .unconditional, help: "Sample rate of a raw input stream.")
    var streamRate: Int?

    @Option(name: .customLong("channels"), parsing: .unconditional, help: "Channels of a raw input stream.")
    var streamChannels = 1

    @Option(name: .shortAndLong, parsing: .unconditional, help: "Files cleaned at the same time in a batch (default: one per core for a batch of several files).")
    var jobs: Int?

    @Flag(help: "Allow the output to replace the input file (written safely, renamed into place).")
    var overwrite = false

    @Option(help: ArgumentHelp("Also clean the files (or folders) listed in this file, one per line ('-': standard input).", valueName: "list"))
    var filesFrom: String?

    @Flag(help: "Leave out files whose output already exists (an interrupted batch resumes; an output exists only once complete).")
    var skipExisting = false

    @Option(help: ArgumentHelp("Clean only the K-th (from 0) of N deterministic slices of the batch (files K, K+N, K+2N, …), for a job spread over machines.", valueName: "K/N"))
    var shard: ShardArgument?

    @Option(help: ArgumentHelp("Append one JSON record per file (input, output, status, error, duration, noise, removed_db, seconds) to this file as each file ends.", valueName: "file.jsonl"))
    var log: String?

    @Option(help: ArgumentHelp("Also draw the input, output, removed part and mask spectrograms into this PNG (one file).", valueName: "png"))
    var plot: String?

    @Flag(help: "Also write report.html into the output folder: every file with its figures, spectrograms and players.")
    var report = false

    @Flag(name: .shortAndLong, help: "Print a summary: durations, rates, dictionaries, iterations, time.")
    var verbose = false

    @Flag(name: .shortAndLong, help: "No warnings or progress.")
    var quiet = false

    var options: DenoiserOptions {
        var options = solve.denoiser(jobs: jobs ?? 1, gainFloor: gainFloor, gainExponent: gainExponent)
        if case .hz(let hz) = bandwidth { options.bandwidth = hz }
        return options
    }

    func validate() throws {
        if inputs.isEmpty && filesFrom == nil { throw ValidationError("give the recordings to clean (or --files-from LIST)") }
        do { try options.validate() } catch { throw ValidationError(error.description) }
        if inputs.contains("-") {
            if inputs.count > 1 || filesFrom != nil { throw ValidationError("standard input ('-') cannot be part of a batch") }
            if format != .wav, streamRate == nil { throw ValidationError("a raw input stream needs --sample-rate") }
        }
        if let streamRate, !AudioFile.sampleRates.contains(streamRate) {
            throw ValidationError("sample rate must be between \(AudioFile.sampleRates.lowerBound) and \(AudioFile.sampleRates.upperBound) Hz (got \(streamRate))")
        }
        if !(1...AudioFile.maxChannels).contains(streamChannels) {
            throw ValidationError("channels must be between 1 and \(AudioFile.maxChannels) (got \(streamChannels))")
        }
        if sections != 0, !(sections >= 10 && sections <= 86_400) {
            throw ValidationError("sections must be 0 (one fit per file) or 10 to 86400 seconds (got \(sections))")
        }
        if let jobs, jobs < 1 || jobs > 64 { throw ValidationError("jobs must be between 1 and 64 (got \(jobs))") }
        if output == "-", inputs.count > 1 { throw ValidationError("several inputs need a folder as the output, not standard output") }
        if noiseOutput == "-" { throw ValidationError("--noise-output must be a file") }
        if noise.contains("auto") {
            if noise.count > 1 { throw ValidationError("--noise auto cannot be combined with other --noise dictionaries") }
            if isStream { throw ValidationError("--noise auto needs files, not streams: it reads the beginning of each before cleaning it") }
        }
        if adapt == true, isStream { throw ValidationError("--adapt needs files, not streams: it learns from the recording before cleaning it") }
        if !isBatch {
            if skipExisting || shard != nil || report { throw ValidationError("--skip-existing, --shard and --report are for batches (several inputs, a folder, or --files-from)") }
        } else if plot != nil {
            throw ValidationError("--plot draws one file; for a batch use --report")
        }
        if plot != nil, isStream { throw ValidationError("--plot needs files, not streams") }
        // A device (/dev/null) may take both.
        if let noiseOutput, output != "-", (try? AtomicOutput.target(for: output))?.isDevice != true, AtomicOutput.sameFile(output, noiseOutput) {
            throw ValidationError("--noise-output '\(noiseOutput)' is the same \(isBatch ? "folder" : "file") as the output; give it another")
        }
    }

    /// `--noise auto`: each file gets the shipped noise dictionary that fits it best (by a margin).
    /// Not the default: on xrec it never beat the general model (README, "Quality").
    var isAuto: Bool { noise == ["auto"] }

    /// Standard input or output, or a single input that is a named pipe or device (/dev/stdin on
    /// a pipe): cleaned as the audio arrives, never read ahead.
    var isStream: Bool { inputs == ["-"] || output == "-" || (inputs.count == 1 && AudioFile.isStream(inputs[0])) }

    /// Batch mode: several inputs, a folder among them, a list, or an existing folder as the output.
    var isBatch: Bool {
        func isFolder(_ path: String) -> Bool {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
        return inputs.count > 1 || filesFrom != nil || isFolder(output) || inputs.contains(where: isFolder)
    }

    func run() throws {
        let start = Date()
        // The denoiser splits each block between the cores itself; BLAS's own threads would only
        // compete with it (measured: 12.2 s against 13.3 s on a 10-minute file).
        setLinearAlgebraThreads(1)
        var denoiser: Denoiser?
        var choices = NoiseChoices()
        try reportingErrors {
            denoiser = try makeDenoiser()
            if isAuto, let denoiser { choices = try NoiseChoices(general: denoiser.noise[0]) }
        }
        guard let denoiser else { return }
        if isStream {
            try reportingErrors { try cleanStream(inputs[0], to: output, noiseTo: noiseOutput, with: denoiser, start: start) }
            return
        }
        guard isBatch else {
            try reportingErrors {
                let outcome = try clean(inputs[0], to: output, noiseTo: noiseOutput, with: denoiser, choices: choices, start: start)
                if let log { try BatchLog(appendingTo: log).append(outcome.record(input: Self.absolute(inputs[0]), output: Self.absolute(output))) }
                if let plot {
                    let pictures = try CleaningSpectrograms.compare(noisy: inputs[0], cleaned: output)
                    try pictures.draw(to: plot, title: "\(URL(fileURLWithPath: inputs[0]).lastPathComponent) → \(URL(fileURLWithPath: output).lastPathComponent)",
                                      subtitle: Plot.subtitle(pictures, settings: "noise \(outcome.noise), \(Plot.settings(options))"))
                }
            }
            return
        }
        try runBatch(denoiser, choices, start: start)
    }

    /// An output that would replace the input (the same file, by a link too) is refused unless
    /// --overwrite is given.
    func refuseInputAsOutput(_ input: String, _ targets: [String]) throws(DenoiseError) {
        for target in targets where !overwrite && AtomicOutput.sameFile(input, target) {
            throw .unwritableOutput(path: target, reason: "it is the input file; pass --overwrite to replace it")
        }
    }

    func warnRepairs(_ input: String, _ repairs: SampleRepairs) {
        if !quiet, let message = repairs.warning(for: input) { Console.warning(message) }
    }

    /// Cleans one file; returns what a log record and the report need.
    @discardableResult
    func clean(_ input: String, to output: String, noiseTo noiseOutput: String?, with given: Denoiser, choices: NoiseChoices,
               start: Date, showProgress: Bool = true) throws -> FileOutcome {
        if AudioFile.isStream(input) {
            // A named pipe in a batch: cleaned as it arrives, with the general model (no read-ahead).
            if adapt == true {
                throw DenoiseError.unreadableInput(path: input, reason: "--adapt needs a file, not a pipe or device")
            }
            let seconds = try cleanStream(input, to: output, noiseTo: noiseOutput, with: given, start: start)
            return FileOutcome(duration: seconds, noise: noiseName([]), removedDB: nil, seconds: Date().timeIntervalSince(start))
        }
        try refuseInputAsOutput(input, [output] + (noiseOutput.map { [$0] } ?? []))
        let name = URL(fileURLWithPath: input).lastPathComponent
        let progress: ((Double) -> Void)? = showProgress && !quiet && Console.isTerminal ? { done in
            Console.progress("cleaning \(name)", fraction: done)
        } : nil
        // Each section of the file (one for a file up to `--sections` seconds) gets its own fit.
        var denoiser = given, fits: [FileFit] = [], report: CleaningReport
        if fitsFiles {
            (report, _) = try given.cleanFile(input, to: output, removedTo: noiseOutput, sections: sections == 0 ? .infinity : sections,
                                              fitSeconds: Self.fitSeconds, fit: { (signal, whole) throws(DenoiseError) in
                let (fitted, sectionFit) = try self.fit(given, to: signal, isWhole: whole, of: input, choices)
                var fit = sectionFit
                if fits.isEmpty { denoiser = fitted }
                let known = fit.known
                fit.known = nil   // the section's cleaning takes them; kept for every section they grew with the file
                fits.append(fit)
                return (fitted, known)
            }, progress: progress)
        } else {
            report = try given.cleanFile(input, to: output, removedTo: noiseOutput, progress: progress)
        }
        Console.endProgress()
        warnRepairs(input, report.repairs)
        if verbose {
            let elapsed = Date().timeIntervalSince(start)
            let sp = denoiser.speech
            let sections = fits.count > 1 ? "\nsections: \(fits.count), each fitted on its own: \(noiseName(fits))" : ""
            Console.info("""
                input:  \(input): \(formatSeconds(report.duration)), \(report.sampleRate) Hz, \(report.channelCount) channel(s), \(report.format.map { "\($0)" } ?? "stream")
                speech: \(sp.label), rank \(sp.rank)
                noise:  \(denoiser.noise.map { "\($0.label), rank \($0.rank)" }.joined(separator: "; "))\(fits.count > 1 ? " (the first section's)" : "")
                band:   \(bandLine(fits))\(sections)
                model:  \(denoiser.sampleRate) Hz, n-fft \(sp.stft.nFFT), hop \(sp.stft.hop), beta \(sp.beta), \(options.iterations) iterations on \(options.bands > 0 ? "\(options.bands) bands" : "every bin")\(denoiser.trainedLayers > 0 ? " (the last \(denoiser.trainedLayers) with trained atoms)" : ""), mask power \(options.maskPower), gain exponent \(gainExponent), \(denoiser.usesMaskBases ? "discriminative mask bases" : "mask from the dictionaries")\(denoiser.context.frames > 1 ? " over frames t\(-denoiser.context.past)…t+\(denoiser.context.future)" : "")
                output: \(output)\(noiseOutput.map { ", removed part: \($0)" } ?? "")
                time:   \(formatSeconds(elapsed)) (\(String(format: "%.4f", elapsed / max(report.duration, 1e-9))) × real time)
                """)
        }
        return FileOutcome(duration: report.duration, noise: noiseName(fits), removedDB: report.levelDropDB,
                           seconds: Date().timeIntervalSince(start))
    }

    /// The band the solve saw, for `--verbose`: per section where a file's sections found different ones.
    func bandLine(_ fits: [FileFit]) -> String {
        func describe(_ cutoff: Double?) -> String {
            cutoff.map { "the input holds nothing above \(String(format: "%.1f", $0 / 1000)) kHz: solved below it" }
                ?? (options.bandwidth.map { "solved below \(String(format: "%.1f", $0 / 1000)) kHz" } ?? "full")
        }
        let each = fits.isEmpty ? [describe(nil)] : fits.map { describe($0.cutoff) }
        return Set(each).count <= 1 ? each[0] : each.enumerated().map { "section \($0.offset + 1): \($0.element)" }.joined(separator: "; ")
    }

}

/// What cleaning one file gave.
struct FileOutcome: Sendable {
    var duration: Double
    var noise: String
    var removedDB: Double?
    var seconds: Double

    func record(input: String, output: String) -> BatchRecord {
        BatchRecord(input: input, output: output, status: .ok, duration: duration, noise: noise, removedDB: removedDB, seconds: seconds)
    }
}
