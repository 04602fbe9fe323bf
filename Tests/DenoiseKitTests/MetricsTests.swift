import Foundation
import Testing
@testable import DenoiseKit

@Suite struct MetricsTests {
    /// SI-SDR and SNR of constructed estimates with known answers.
    @Test func siSDRAndSNRHaveTheirDefinitions() {
        let s = randomSignal(count: 16000, seed: 1, amplitude: 0.5)
        var n = randomSignal(count: 16000, seed: 2, amplitude: 0.05)
        // Make the noise orthogonal to s, so that 2s + n has SI-SDR exactly ‖2s‖²/‖n‖².
        let proj = zip(n, s).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } / s.reduce(0.0) { $0 + Double($1) * Double($1) }
        n = zip(n, s).map { Float(Double($0) - proj * Double($1)) }
        let e = zip(s, n).map { 2 * $0 + $1 }
        let power = { (x: [Float]) in x.reduce(0.0) { $0 + Double($1) * Double($1) } }
        #expect(abs(Metrics.siSDR(reference: s, estimate: e) - 10 * log10(4 * power(s) / power(n))) < 1e-3)
        let d = zip(e, s).map { $0 - $1 }
        #expect(abs(Metrics.snr(reference: s, estimate: e) - 10 * log10(power(s) / power(d))) < 1e-6)
        #expect(Metrics.segmentalSNR(reference: s, estimate: s, sampleRate: 16000) == 35)
    }

    @Test func stoiIsOneForTheCleanSignalAndFallsWithNoise() throws {
        var speech = [Float](repeating: 0, count: 3 * 16000)
        for i in speech.indices where (i / 2400) % 3 != 2 {
            let t = Double(i) / 16000
            speech[i] = Float((1...10).reduce(0.0) { $0 + sin(2 * .pi * 140 * Double($1) * t * (1 + 0.1 * sin(3 * t))) / Double($1) } * 0.1)
        }
        let same = try STOI.score(clean: speech, processed: speech, sampleRate: 16000)
        #expect(abs(same - 1) < 1e-6)
        var last = same
        for level: Float in [0.02, 0.1, 0.5] {
            let noisy = zip(speech, randomSignal(count: speech.count, seed: 3, amplitude: level)).map { $0 + $1 }
            let score = try STOI.score(clean: speech, processed: noisy, sampleRate: 16000)
            #expect(score < last, "noise \(level): STOI \(score) after \(last)")
            last = score
        }
    }

    /// pystoi 0.3 on noisy/clean development pairs, computed once (`pystoi.stoi(clean, noisy, 16000)`);
    /// skipped when ../shared/corpus is absent.
    @Test(arguments: [
        ("m000_ac_fan_+10dB", 0.8631), ("m017_train_+0dB", 0.7338), ("m035_sea_waves_+0dB", 0.6492),
        ("m052_office_+10dB", 0.8598), ("m063_babble_cafe_-5dB", 0.5267), ("m007_hair_dryer_+0dB", 0.8049),
    ])
    func stoiAgreesWithPystoi(pair: String, pystoi: Double) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/corpus/mixtures").standardized
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent("clean/\(pair).flac").path) else {
            print("skipped: ../shared/corpus is absent")
            return
        }
        let (clean, _) = try AudioFile.read(root.appendingPathComponent("clean/\(pair).flac").path)
        let (noisy, _) = try AudioFile.read(root.appendingPathComponent("noisy/\(pair).flac").path)
        let ours = try STOI.score(clean: clean.channels[0], processed: noisy.channels[0], sampleRate: 16000)
        #expect(abs(ours - pystoi) < 0.01, "\(pair): \(ours) against pystoi \(pystoi)")
    }
}
