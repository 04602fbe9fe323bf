import ArgumentParser
import DenoiseKit
import Foundation

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a dictionary's metadata and shape.",
        discussion: "Examples:\n  denoise inspect Dictionaries/speech.safetensors --json\n  denoise inspect general --plot atoms.png")

    @Argument(help: "A dictionary file, 'speech', 'general' or a shipped noise type.")
    var dictionary: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Option(help: ArgumentHelp("Also draw the atoms (one column each, frequency up, in dB) into this PNG.", valueName: "png"))
    var plot: String?

    func run() throws {
        try reportingErrors {
            let path = try ShippedDictionaries.resolve(dictionary)
            let d = try SpectralDictionary.load(path)
            if let plot { try d.drawAtoms(to: plot, title: URL(fileURLWithPath: path).lastPathComponent) }
            var fields = d.metadata
            fields["shape"] = "[\(d.bins), \(d.rank)]"
            // What the atoms cover, and what happens to the rest of a faster input's band.
            fields["band"] = "0-\(d.sampleRate / 2) Hz; inputs above \(d.sampleRate) Hz keep the band above it, cleaned by a statistical suppressor (no atoms)"
            fields["path"] = path
            if json {
                let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .prettyPrinted])
                print(String(decoding: data, as: UTF8.self))
            } else {
                for key in fields.keys.sorted() { print("\(key): \(fields[key]!)") }
            }
        }
    }
}

struct ListDictionaries: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dictionaries",
        abstract: "List the shipped dictionaries (names usable with 'run --noise NAME' and 'separate --source X=NAME').",
        discussion: "Example:\n  denoise dictionaries\n  denoise run noisy.wav -o clean.wav --noise wind")

    func run() throws {
        try reportingErrors {
            guard let dir = ShippedDictionaries.directory() else {
                throw DenoiseError.invalidParameter("the shipped dictionaries were not found; set DENOISE_DICTIONARIES")
            }
            print("folder: \(dir)")
            print("speech: speech.safetensors")
            print("general: noise.safetensors (default noise dictionary)")
            for name in ShippedDictionaries.noiseTypes() { print("\(name): noise/\(name).safetensors") }
            for name in ShippedDictionaries.retiredTypes.keys.sorted() { print("\(name): the general model (its own dictionary cleaned other recordings worse)") }
        }
    }
}
