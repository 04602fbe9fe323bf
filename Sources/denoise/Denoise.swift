import ArgumentParser
import DenoiseKit
import Foundation

@main
struct Denoise: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "denoise",
        abstract: "Remove noise from speech recordings with non-negative matrix factorization.",
        discussion: """
            Learn a speech dictionary and noise dictionaries from recordings, then clean noisy files with them. \
            With no dictionary options, 'run' uses the dictionaries shipped with denoise.

            Examples:
              denoise run interview.wav -o interview-clean.wav
              denoise run lecture.flac -o lecture-clean.flac --noise wind
              denoise train-noise fan-recordings/ -o fan.safetensors --rank 16
              denoise separate video.wav -o parts/ --source speech=speech --source music=music.safetensors
            """,
        version: "0.1.0",
        subcommands: [Run.self, Separate.self, Plot.self, Report.self, Train.self, TrainSpeech.self, TrainNoise.self, TrainDiscriminative.self, Eval.self, Inspect.self, ListDictionaries.self]
    )

    /// Like `ParsableCommand.main()`, except that a usage error is one line on stderr,
    /// `denoise: error: …`, pointing at the command's help, instead of the error plus the usage.
    static func main() {
        AtomicOutput.removeTemporaryFilesOnInterrupt()
        do {
            var command = try parseAsRoot()
            Console.silenceLibraries()
            try command.run()
        } catch {
            Console.restoreStderr()
            let status = exitCode(for: error)
            guard status == .validationFailure else { exit(withError: error) }  // help, version, failures
            // ArgumentParser's longer messages (the choices of an option) come in several lines: one line here.
            let lines = message(for: error).split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let message = lines.isEmpty ? "invalid usage" : lines.joined(separator: " ")
            let sub = CommandLine.arguments.dropFirst().first { name in configuration.subcommands.contains { $0._commandName == name } }
            Console.error("\(message) (see 'denoise \(sub.map { $0 + " " } ?? "")--help')")
            Foundation.exit(status.rawValue)
        }
    }
}
