import Foundation

/// Finds the dictionaries shipped with denoise (`Dictionaries/` in the source tree, or
/// `PREFIX/share/denoise/Dictionaries` after `make install`).
public enum ShippedDictionaries {
    /// The folder holding `speech.safetensors`, `noise.safetensors` and `noise/<type>.safetensors`,
    /// searched in this order: `$DENOISE_DICTIONARIES`; `../share/denoise/Dictionaries` beside the
    /// executable (`make install`); `Dictionaries` in the executable's folder or the nearest folder
    /// above it (a build inside the checkout: `.build/release/denoise` finds the checkout's).
    public static func directory() -> String? {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["DENOISE_DICTIONARIES"], !env.isEmpty { candidates.append(env) }
        var folder = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        candidates.append(folder.appendingPathComponent("../share/denoise/Dictionaries").standardized.path)
        for _ in 0..<8 where folder.path != "/" {
            candidates.append(folder.appendingPathComponent("Dictionaries").path)
            folder = folder.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent("speech.safetensors")) }
    }

    public static func speechPath() throws(DenoiseError) -> String {
        try path("speech.safetensors")
    }

    public static func noisePath() throws(DenoiseError) -> String {
        try path("noise.safetensors")
    }

    /// Noise types whose own dictionaries no longer ship, and why: on other recordings of their kind
    /// (xrec: recordings no training saw, each type's model retrained without them) the general model
    /// with adaptation and the steady floor cleaned better (mean ΔSI-SDR over the type's pairs). Naming
    /// one uses the general model, with this said.
    public static let retiredTypes: [String: String] = [
        "ac_fan": "ΔSI-SDR +4.5 dB against the fan dictionary's +3.4",
        "babble_cafe": "ΔSI-SDR +3.3 dB against the café dictionary's +2.8",
        "kitchen_dishes": "ΔSI-SDR +5.1 dB against the dishes dictionary's +2.1",
        "music": "ΔSI-SDR +2.1 dB against the music dictionary's +2.0",
        "office": "ΔSI-SDR +5.8 dB against the office dictionary's +5.1",
        "running_water": "ΔSI-SDR +5.6 dB against the water dictionary's +2.5",
        "street_traffic": "ΔSI-SDR +6.2 dB against the street dictionary's +5.8",
        "train": "ΔSI-SDR +6.6 dB as the train dictionary's, ΔPESQ +0.39 against +0.35",
        "washing_machine": "ΔSI-SDR +5.0 dB against the washing-machine dictionary's +4.5",
    ]

    /// What to tell a user who named a retired type, or nil.
    public static func retirementNote(_ argument: String) -> String? {
        guard !FileManager.default.fileExists(atPath: argument), let why = retiredTypes[argument] else { return nil }
        return "'\(argument)' uses the general model: on other recordings of that noise it cleaned better than a dictionary of its own (\(why))"
    }

    /// Names of the per-type noise dictionaries (e.g. "wind"), sorted.
    public static func noiseTypes() -> [String] {
        guard let dir = directory(),
              let names = try? FileManager.default.contentsOfDirectory(atPath: (dir as NSString).appendingPathComponent("noise"))
        else { return [] }
        return names.filter { $0.hasSuffix(".safetensors") }.map { String($0.dropLast(".safetensors".count)) }.sorted()
    }

    /// A dictionary argument of `separate` or `inspect`: 'speech' (the shipped speech dictionary),
    /// else as `resolveNoise` (a path, 'general' or a shipped noise type).
    public static func resolve(_ argument: String) throws(DenoiseError) -> String {
        argument == "speech" && !FileManager.default.fileExists(atPath: argument) ? try speechPath() : try resolveNoise(argument)
    }

    /// A `--noise` argument: an existing path as it is, else the name of a shipped noise type.
    public static func resolveNoise(_ argument: String) throws(DenoiseError) -> String {
        if FileManager.default.fileExists(atPath: argument) || argument.contains("/") || argument.hasSuffix(".safetensors") {
            return argument
        }
        if argument == "general" || retiredTypes[argument] != nil { return try noisePath() }
        let types = noiseTypes()
        guard types.contains(argument) else {
            throw .invalidParameter("'\(argument)' is neither a dictionary file nor a shipped noise type (see 'denoise dictionaries'; types: \(types.joined(separator: ", ")))")
        }
        return try path("noise/\(argument).safetensors")
    }

    private static func path(_ name: String) throws(DenoiseError) -> String {
        guard let dir = directory() else {
            throw .invalidParameter("the shipped dictionaries were not found; set DENOISE_DICTIONARIES to the Dictionaries folder or pass --speech and --noise")
        }
        let p = (dir as NSString).appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: p) else { throw .invalidDictionary(path: p, reason: "no such file") }
        return p
    }
}
