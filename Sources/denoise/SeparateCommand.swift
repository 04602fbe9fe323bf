import ArgumentParser
import DenoiseKit
import Foundation

/// `NAME=VALUE`: a source's name and its dictionary (`--source`, a file or a shipped name) or its
/// recordings (`--audio`).
struct SourceArgument: ExpressibleByArgument {
    var name: String
    var value: String

    init?(argument: String) {
        guard let eq = argument.firstIndex(of: "="), eq != argument.startIndex else { return nil }
        name = String(argument[..<eq])
        value = String(argument[argument.index(after: eq)...])
        guard !value.isEmpty else { return nil }
    }

    /// 'speech' is the shipped speech dictionary; 'general' and the noise types the shipped noise ones.
    func load() throws(DenoiseError) -> Separator.Source {
        if let note = ShippedDictionaries.retirementNote(value) { Console.warning(note) }
        return Separator.Source(name: name, dictionary: try SpectralDictionary.load(try ShippedDictionaries.resolve(value)))
    }

    /// Names must be file-name safe and distinct, and there must be at least two.
    static func validate(_ sources: [SourceArgument]) throws {
        if sources.count < 2 { throw ValidationError("give at least two sources with --source NAME=DICT (got \(sources.count))") }
        var seen = Set<String>()
        for s in sources {
            if !SpectralDictionary.Kind.isName(s.name) {
                throw ValidationError("source name '\(s.name)' must be 1 to 64 letters, digits, '_' or '-'")
            }
            if !seen.insert(s.name).inserted { throw ValidationError("source name '\(s.name)' is given twice") }
        }
    }
}

struct Separate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Split a recording into its sources, one dictionary per source, one file each.",
        discussion: """
            Solves the activations of all the sources' dictionaries together (W fixed), builds one soft \
            mask per source, Mᵢ = Sᵢᵖ / Σⱼ Sⱼᵖ, and writes each masked source to \
            DIR/<input name>.<NAME>.wav with the input's rate, channels and length. The masks sum to \
            one, so the sources sum to the input. A dictionary is a file or a shipped name: 'speech', \
            'general' or a noise type (see 'denoise dictionaries'). When every dictionary carries \
            separation bases trained for this set of sources ('train-discriminative --source'), the \
            masks are built from them. Above the dictionaries' rate (8 kHz for the shipped ones) the \
            band goes whole to one source (--upper-band).

            Examples:
              denoise train music-recordings/ -o music.safetensors --kind music --rank 64
              denoise separate video.wav -o parts/ --source speech=speech --source music=music.safetensors
              denoise separate *.flac -o parts/ --source speech=speech --source music=music.safetensors --source hum=fridge_hum --jobs 2
            """)

    @Argument(help: "The recording(s) to separate.")
    var inputs: [String]

    @Option(name: [.short, .customLong("output"), .customLong("output-dir")], help: "Folder the sources are written to (made if missing).")
    var output: String

    @Option(name: .customLong("source"), help: ArgumentHelp("A source: its name (in the output file names) and dictionary; repeat for each source.", valueName: "name=dict"))
    var sources: [SourceArgument] = []

    @Option(help: ArgumentHelp("The source that gets the band above the dictionaries' rate (default: the first).", valueName: "name"))
    var upperBand: String?

    @OptionGroup(title: "Solve") var solve: SolveOptions

    @Option(name: .shortAndLong, parsing: .unconditional, help: "Files separated at the same time in a batch.")
    var jobs = 1

    @Flag(name: .shortAndLong, help: "Print a summary per file: duration, rate, dictionaries, time.")
    var verbose = false

    @Flag(name: .shortAndLong, help: "No warnings or progress.")
    var quiet = false

    var options: SeparatorOptions { solve.separator(jobs: jobs) }

    func validate() throws {
        try SourceArgument.validate(sources)
        do { try options.validate() } catch { throw ValidationError(error.description) }
        if jobs < 1 || jobs > 64 { throw ValidationError("jobs must be between 1 and 64 (got \(jobs))") }
        if let upperBand, !sources.contains(where: { $0.name == upperBand }) {
            throw ValidationError("--upper-band '\(upperBand)' is not one of the sources (\(sources.map(\.name).joined(separator: ", ")))")
        }
        if inputs.contains("-") || output == "-" { throw ValidationError("separate reads and writes files, not standard input or output") }
        var seen: [String: String] = [:]
        for input in inputs {
            let key = URL(fileURLWithPath: targets(input)[0]).standardized.path
            if let other = seen[key] {
                throw ValidationError("'\(other)' and '\(input)' would both be written as '\(stem(input))'; separate them into different folders")
            }
            seen[key] = input
        }
    }

    func stem(_ input: String) -> String { URL(fileURLWithPath: input).deletingPathExtension().lastPathComponent }

    /// DIR/<input name>.<NAME>.wav for each source, in order.
    func targets(_ input: String) -> [String] {
        sources.map { (output as NSString).appendingPathComponent("\(stem(input)).\($0.name).wav") }
    }

    func run() throws {
        setLinearAlgebraThreads(1)
        var built: Separator?
        try reportingErrors {
            built = try makeSeparator()
            try makeFolder()
        }
        guard let first = built else { return }
        if !quiet { for warning in first.warnings { Console.warning(warning) } }
        let upper = upperBandIndex
        if inputs.count == 1 {
            try reportingErrors { try separate(inputs[0], with: first, upperBand: upper, showProgress: true) }
            return
        }
        let state = BatchState(total: inputs.count, quiet: quiet)
        // One model for every worker: each file's streams carry their own working memory.
        DispatchQueue.concurrentPerform(iterations: min(jobs, inputs.count)) { _ in
            while let i = state.next() {
                do {
                    try separate(inputs[i], with: first, upperBand: upper, showProgress: false)
                    state.finished(inputs[i], error: nil)
                } catch {
                    state.finished(inputs[i], error: (error as? DenoiseError)?.description ?? "\(error)")
                }
            }
        }
        Console.endProgress()
        if state.failures + state.unreached > 0 { throw ExitCode.failure }
    }

    func makeSeparator() throws -> Separator {
        var loaded: [Separator.Source] = []
        for s in sources { loaded.append(try s.load()) }
        return try Separator(sources: loaded, options: options)
    }

    /// The source given the band above the dictionaries' rate.
    var upperBandIndex: Int {
        guard let upperBand else { return 0 }
        return sources.firstIndex { $0.name == upperBand } ?? 0
    }

    func makeFolder() throws(DenoiseError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw .unwritableOutput(path: output, reason: "it is a file; separate writes into a folder") }
            return
        }
        do { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true) } catch {
            throw .unwritableOutput(path: output, reason: (error as NSError).localizedFailureReason ?? error.localizedDescription)
        }
    }

    func separate(_ input: String, with separator: Separator, upperBand: Int, showProgress: Bool) throws {
        let start = Date(), outputs = targets(input)
        for target in outputs where AtomicOutput.sameFile(input, target) {
            throw DenoiseError.unwritableOutput(path: target, reason: "it is the input file")
        }
        let name = URL(fileURLWithPath: input).lastPathComponent
        let report = try separator.separateFile(input, to: outputs, upperBandSource: upperBand,
                                                progress: showProgress && !quiet && Console.isTerminal ? { done in
                                                    Console.progress("separating \(name)", fraction: done)
                                                } : nil)
        Console.endProgress()
        if !quiet, let message = report.repairs.warning(for: input) { Console.warning(message) }
        if verbose {
            let elapsed = Date().timeIntervalSince(start)
            Console.info("""
                input:   \(input): \(formatSeconds(report.duration)), \(report.sampleRate) Hz, \(report.channelCount) channel(s)
                sources: \(separator.sources.map { "\($0.name) (\($0.dictionary.label), rank \($0.dictionary.rank))" }.joined(separator: "; "))
                masks:   \(separator.usesTrainedBases ? "trained separation bases" : "the dictionaries' atoms"), power \(options.maskPower), \(options.iterations) iterations on \(options.bands > 0 ? "\(options.bands) bands" : "every bin")
                output:  \(outputs.joined(separator: ", "))
                time:    \(formatSeconds(elapsed)) (\(String(format: "%.4f", elapsed / max(report.duration, 1e-9))) × real time)
                """)
        }
    }
}
