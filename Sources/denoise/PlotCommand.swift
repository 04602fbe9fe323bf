import ArgumentParser
import DenoiseKit
import Foundation

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw the spectrograms of a cleaning: input, output, removed part and mask, as PNG.",
        discussion: """
            With NOISY and CLEANED (the input and output of 'run'), draws the two as they are. With NOISY \
            alone, cleans it in memory first (shipped speech dictionary and --noise, default the general \
            model; nothing else is written). Panels share one time axis; levels are in dB over a 90 dB \
            range below the input's loudest, with the magma colour map. A long file is summarized: at \
            most 1600 columns, each the mean power of its frames. 'run --plot' and 'run --report' draw \
            the same picture for the files they clean.

            Examples:
              denoise plot noisy.wav cleaned.wav -o cleaning.png
              denoise plot noisy.wav -o cleaning.png --noise wind
              denoise inspect general --plot atoms.png
            """)

    @Argument(help: "The noisy recording.")
    var noisy: String

    @Argument(help: "Its cleaned version (omit to clean it in memory).")
    var cleaned: String?

    @Option(name: .shortAndLong, help: "Where to write the picture (.png).")
    var output: String

    @Option(help: "Speech dictionary when NOISY is cleaned here (default: the shipped one).")
    var speech: String?

    @Option(help: "Noise dictionary or shipped type when NOISY is cleaned here.")
    var noise = "general"

    func run() throws {
        setLinearAlgebraThreads(1)
        try reportingErrors {
            try AtomicOutput.checkWritable(output)
            let name = URL(fileURLWithPath: noisy).lastPathComponent
            if let cleaned {
                let pictures = try CleaningSpectrograms.compare(noisy: noisy, cleaned: cleaned)
                try pictures.draw(to: output, title: "\(name) → \(URL(fileURLWithPath: cleaned).lastPathComponent)",
                                  subtitle: Self.subtitle(pictures, settings: "as given"))
            } else {
                let denoiser = try Denoiser(speech: try SpectralDictionary.load(speech ?? ShippedDictionaries.speechPath()),
                                            noise: [try SpectralDictionary.load(try ShippedDictionaries.resolveNoise(noise))])
                let pictures = try CleaningSpectrograms.clean(noisy, with: denoiser)
                try pictures.draw(to: output, title: "\(name), cleaned with denoise",
                                  subtitle: Self.subtitle(pictures, settings: "noise \(noise), \(Self.settings(denoiser.options))"))
            }
        }
    }

    /// The title's second line: what the file is, how much went, the settings.
    static func subtitle(_ p: CleaningSpectrograms, settings: String) -> String {
        "\(formatSeconds(p.duration)), \(p.input.sampleRate) Hz; output \(String(format: "%.1f", p.levelDropDB)) dB quieter, removed part at \(String(format: "%.1f", p.removedLevelDB)) dB of the input; \(settings)"
    }

    static func settings(_ o: DenoiserOptions) -> String {
        "\(o.iterations) iterations on \(o.bands > 0 ? "\(o.bands) bands" : "every bin"), mask power \(o.maskPower), gain exponent \(o.gainExponent), floor \(o.gainFloor)"
    }
}
