import ArgumentParser

@main
struct Denoise: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "denoise",
        abstract: "Remove noise from speech recordings with non-negative matrix factorization.",
        discussion: """
            Learn a speech dictionary and noise dictionaries from recordings, then clean noisy files with them.
            With no dictionary options, 'run' uses the dictionaries shipped with denoise.

            Examples:
              denoise run interview.wav -o interview-clean.wav
              denoise run lecture.flac -o lecture-clean.flac --noise street_traffic
              denoise train-noise fan-recordings/ -o fan.safetensors --rank 16
            """,
        version: "0.1.0",
        subcommands: [Run.self, TrainSpeech.self, TrainNoise.self, TrainDiscriminative.self, Inspect.self, ListDictionaries.self]
    )
}
