import ArgumentParser
import DenoiseKit
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a cleaned recording against the clean reference: SI-SDR, SNR, segmental SNR, STOI.",
        discussion: """
            The files must be time-aligned (as denoise's output is with its input); channels are mixed \
            down, and the estimate is converted to the reference's rate if it differs. With --noisy, \
            the noisy input is scored too and the improvements are printed.

            Examples:
              denoise eval clean.wav cleaned.wav
              denoise eval clean.wav cleaned.wav --noisy noisy.wav --json
            """)

    @Argument(help: "The clean reference.")
    var clean: String

    @Argument(help: "The estimate to score (e.g. denoise's output).")
    var estimate: String

    @Option(help: "The noisy input, to report the improvement.")
    var noisy: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        try reportingErrors {
            let (reference, _) = try AudioFile.read(clean)
            let rate = reference.sampleRate
            func load(_ path: String) throws(DenoiseError) -> [Float] {
                let (audio, _) = try AudioFile.read(path)
                return try Resampler.resample(audio.mixedDown(), from: audio.sampleRate, to: rate)
            }
            let target = reference.mixedDown()
            let scored = try Metrics.scores(reference: target, estimate: try load(estimate), sampleRate: rate)
            let baseline = try noisy.map { (path) throws(DenoiseError) in try Metrics.scores(reference: target, estimate: try load(path), sampleRate: rate) }
            let rows: [(String, String, (QualityScores) -> Double)] = [
                ("si_sdr", "SI-SDR (dB)", \.siSDR), ("snr", "SNR (dB)", \.snr),
                ("segmental_snr", "segmental SNR (dB)", \.segmentalSNR), ("stoi", "STOI", \.stoi),
            ]
            if json {
                var out: [String: [String: Double]] = ["estimate": [:]]
                for (key, _, value) in rows {
                    out["estimate"]![key] = value(scored)
                    if let baseline {
                        out["noisy", default: [:]][key] = value(baseline)
                        out["improvement", default: [:]][key] = value(scored) - value(baseline)
                    }
                }
                let data = try! JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .prettyPrinted])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("measure".padding(toLength: 20, withPad: " ", startingAt: 0) + "estimate" + (baseline == nil ? "" : "     noisy  improvement"))
            for (key, name, value) in rows {
                let format = key == "stoi" ? "%8.3f" : "%8.2f"
                var line = name.padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: format, value(scored))
                if let baseline {
                    line += "  " + String(format: format, value(baseline)) + "     " + String(format: key == "stoi" ? "%+8.3f" : "%+8.2f", value(scored) - value(baseline))
                }
                print(line)
            }
        }
    }
}
