import ArgumentParser
import DenoiseKit
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a cleaned recording against the clean reference: SI-SDR, SNR, segmental SNR, STOI.",
        discussion: """
            The files must be time-aligned (as denoise's output is with its input) and share the \
            sample rate and channel count; channels are mixed down. Their lengths may differ by \
            at most 1 % or 50 ms (the scores use the common part); a file with NaN or Inf samples \
            is refused. With --noisy, the noisy input is scored too and the improvements are printed.

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
            let reference = try Self.read(clean)
            let rate = reference.sampleRate
            func load(_ path: String) throws(DenoiseError) -> [Float] {
                let audio = try Self.read(path)
                try Self.checkMatch(audio, path, reference, clean)
                return audio.mixedDown()
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

    /// A file to score: samples that are not numbers make any score meaningless.
    static func read(_ path: String) throws(DenoiseError) -> AudioBuffer {
        let (audio, info) = try AudioFile.read(path)
        if info.repairs.nonFinite > 0 {
            let n = info.repairs.nonFinite
            throw .unreadableInput(path: path, reason: "it holds \(n) NaN/Inf sample\(n == 1 ? "" : "s") and cannot be scored")
        }
        return audio
    }

    /// Scores compare sample by sample: the files must share rate and channels, and their lengths
    /// may differ only by what a processing delay or padding leaves (1 %, or 50 ms if more).
    static func checkMatch(_ audio: AudioBuffer, _ path: String, _ reference: AudioBuffer, _ referencePath: String) throws(DenoiseError) {
        guard audio.sampleRate == reference.sampleRate else {
            throw .incompatible("'\(path)' is at \(audio.sampleRate) Hz but the reference '\(referencePath)' at \(reference.sampleRate) Hz; convert one of them first")
        }
        guard audio.channelCount == reference.channelCount else {
            throw .incompatible("'\(path)' has \(audio.channelCount) channel(s) but the reference '\(referencePath)' has \(reference.channelCount)")
        }
        let tolerance = max(reference.frameCount / 100, reference.sampleRate / 20)
        guard abs(audio.frameCount - reference.frameCount) <= tolerance else {
            func seconds(_ s: Double) -> String { String(format: "%.3f s", s) }
            throw .incompatible("'\(path)' lasts \(seconds(audio.duration)) but the reference '\(referencePath)' \(seconds(reference.duration)); the files do not match")
        }
    }
}
