import Foundation
import Testing
@testable import DenoiseKit

@Suite struct DiscriminativeTests {
    static let rate = DenoiserTests.rate

    static func mixtures(seed: UInt64, count: Int = 6) -> [DiscriminativeTrainer.Mixture] {
        let speech = [DenoiserTests.voiced(seconds: 30, seed: seed)]
        let noise = [[randomSignal(count: 4 * rate, seed: seed + 1, amplitude: 0.1)]]
        return DiscriminativeTrainer.makeMixtures(speech: speech, noiseGroups: noise,
                                                  options: DiscriminativeOptions(mixtures: count, seconds: 2, seed: seed), sampleRate: rate)
    }

    @Test func mixturesHaveTheRequestedSNRs() {
        let m = Self.mixtures(seed: 3)
        #expect(m.count == 6)
        for (i, x) in m.enumerated() {
            let ps = x.speech.reduce(0.0) { $0 + Double($1 * $1) }, pn = x.noise.reduce(0.0) { $0 + Double($1 * $1) }
            let snr = 10 * log10(ps / pn)
            #expect(abs(snr - Double([-5, 0, 5, 10][i % 4])) < 0.01, "mixture \(i): \(snr) dB")
        }
    }

    @Test func trainingLowersTheMaskedCostAndHelpsOnUnseenMixtures() throws {
        let (speech, noise) = DenoiserTests.dictionaries
        let options = DiscriminativeOptions(iterations: 30, run: DenoiserOptions(iterations: 60))
        let (trained, costs) = try DiscriminativeTrainer.train(speech: speech, noise: noise, mixtures: Self.mixtures(seed: 10, count: 32), options: options)
        #expect(costs.last! < 0.7 * costs.first!, "cost \(costs.first!) → \(costs.last!)")
        for (a, b) in zip(costs, costs.dropFirst()) { #expect(b <= a) }
        #expect(trained.maskBases?.speechFingerprint == speech.fingerprint)

        let plain = try Denoiser(speech: speech, noise: [noise], options: options.run)
        let discriminative = try Denoiser(speech: speech, noise: [trained], options: options.run)
        #expect(!plain.usesMaskBases && discriminative.usesMaskBases)
        // What it optimizes, on mixtures it has not seen: KL(|clean| ‖ |output|) over the spectrogram.
        let stft = try STFT(speech.stft)
        func spectralKL(_ clean: [Float], _ estimate: [Float]) -> Double {
            var a = stft.forward(clean).magnitude(), b = stft.forward(estimate).magnitude()
            for i in a.storage.indices { a.storage[i] = max(a.storage[i], 1e-6); b.storage[i] = max(b.storage[i], 1e-6) }
            return BetaDivergence(beta: 1).cost(a, b)
        }
        var klPlain = 0.0, klDisc = 0.0
        for m in Self.mixtures(seed: 77) {
            let noisy = zip(m.speech, m.noise).map { $0 + $1 }
            klPlain += spectralKL(m.speech, plain.denoise(noisy))
            klDisc += spectralKL(m.speech, discriminative.denoise(noisy))
        }
        #expect(klDisc < 0.9 * klPlain, "KL(clean ‖ output): plain \(klPlain), discriminative \(klDisc)")
    }

    /// Mask bases survive the file, are ignored with another speech dictionary, and are still used
    /// beside further noise dictionaries (a --noise-sample), which keep their own atoms in the mask.
    @Test func maskBasesRoundTripAndAreIgnoredForAnotherSpeechDictionary() throws {
        let (speech, noise) = DenoiserTests.dictionaries
        let (trained, _) = try DiscriminativeTrainer.train(
            speech: speech, noise: noise, mixtures: Self.mixtures(seed: 1),
            options: DiscriminativeOptions(iterations: 2, run: DenoiserOptions(iterations: 10)))
        var back = try SpectralDictionary.decode(trained.encoded())
        back.origin = nil
        #expect(back == trained)
        var otherSpeech = speech
        otherSpeech.atoms.storage[0] += 0.5
        #expect(try !Denoiser(speech: otherSpeech, noise: [trained]).usesMaskBases)
        #expect(try Denoiser(speech: speech, noise: [noise, trained]).usesMaskBases)
        #expect(try !Denoiser(speech: speech, noise: [noise, noise]).usesMaskBases)
    }
}
