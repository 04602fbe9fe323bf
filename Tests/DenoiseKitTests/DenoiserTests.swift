import Foundation
import Testing
@testable import DenoiseKit

/// Separation on signals whose sources are known: harmonic "speech" against white noise.
@Suite struct DenoiserTests {
    static let rate = 8000
    static let stft = STFTConfiguration(nFFT: 256, hop: 64)

    /// Harmonic tones with a moving pitch, switching on and off like syllables.
    static func voiced(seconds: Double, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        let n = Int(seconds * Double(rate))
        var out = [Float](repeating: 0, count: n)
        var i = 0
        while i < n {
            let length = 800 + Int(rng.next() % 1600)
            let f0 = 100 + 150 * Double(rng.nextUnitFloat())
            let on = rng.nextUnitFloat() < 0.7
            for j in 0..<min(length, n - i) where on {
                let t = Double(j) / Double(rate)
                var s = 0.0
                for harmonic in 1...12 { s += sin(2 * .pi * f0 * Double(harmonic) * t) / Double(harmonic) }
                out[i + j] = Float(0.2 * s * sin(.pi * Double(j) / Double(length)))
            }
            i += length
        }
        return out
    }

    static func dictionary(_ signal: [Float], kind: SpectralDictionary.Kind, rank: Int) throws -> SpectralDictionary {
        let options = DictionaryTrainingOptions(kind: kind, sampleRate: rate, stft: stft,
                                                nmf: NMFConfiguration(rank: rank, iterations: 100, seed: 1))
        let v = try DictionaryTrainer.trainingFrames(signal, options: options)
        let result = try NMF.factorize(v, configuration: options.nmf)
        return SpectralDictionary(atoms: result.W, kind: kind, sampleRate: rate, stft: stft, beta: 1, iterations: result.iterations)
    }

    /// Trained once; each test makes its own Denoiser (it owns scratch buffers, so it is not shared).
    static let dictionaries: (speech: SpectralDictionary, noise: SpectralDictionary) = (
        try! dictionary(voiced(seconds: 20, seed: 1), kind: .speech, rank: 24),
        try! dictionary(randomSignal(count: 10 * rate, seed: 2, amplitude: 0.1), kind: .noise, rank: 4)
    )

    static func makeDenoiser(blockFrames: Int = 512) -> Denoiser {
        try! Denoiser(speech: dictionaries.speech, noise: [dictionaries.noise],
                      options: DenoiserOptions(iterations: 60, blockFrames: blockFrames))
    }

    @Test func improvesSignalToDistortionOnUnseenSignals() {
        let clean = Self.voiced(seconds: 4, seed: 99)
        let noise = randomSignal(count: clean.count, seed: 98, amplitude: 0.15)
        let noisy = zip(clean, noise).map { $0 + $1 }
        let before = siSDR(reference: clean, estimate: noisy)
        let after = siSDR(reference: clean, estimate: Self.makeDenoiser().denoise(noisy))
        #expect(after > before + 5, "SI-SDR \(before) → \(after) dB")
    }

    @Test func blocksGiveTheWholeSignalResult() throws {
        let clean = Self.voiced(seconds: 2, seed: 5)
        let noisy = zip(clean, randomSignal(count: clean.count, seed: 6, amplitude: 0.1)).map { $0 + $1 }
        let a = Self.makeDenoiser(blockFrames: 7).denoise(noisy), b = Self.makeDenoiser(blockFrames: 10_000).denoise(noisy)
        let snr = snrDB(reference: b.map(Double.init), estimate: a.map(Double.init))
        #expect(snr > 80, "blocked vs whole: SNR \(snr) dB")
    }

    @Test func silenceAndClippedInputStayFinite() {
        let d = Self.makeDenoiser()
        let silence = [Float](repeating: 0, count: 5000)
        #expect(d.denoise(silence) == silence)
        let square = (0..<5000).map { Float(($0 / 20) % 2 == 0 ? 1 : -1) }
        let squareOut = d.denoise(square)
        #expect(squareOut.allSatisfy { $0.isFinite })
        let tinyOut = d.denoise([Float](repeating: 1e-30, count: 3000))
        #expect(tinyOut.allSatisfy { $0.isFinite })
        #expect(d.denoise([0.5]).count == 1)
        #expect(d.denoise([]).isEmpty)
    }

    @Test func otherRatesAndChannelsKeepTheirShape() throws {
        let x = Self.voiced(seconds: 1, seed: 7)
        let at44 = try Resampler.resample(x, from: Self.rate, to: 44100)
        let audio = AudioBuffer(sampleRate: 44100, channels: [at44, at44.map { $0 * 0.5 }, at44.map { -$0 }])
        let out = try Self.makeDenoiser().denoise(audio)
        #expect(out.sampleRate == 44100 && out.channelCount == 3 && out.frameCount == audio.frameCount)
        let finite = out.channels.allSatisfy { $0.allSatisfy { $0.isFinite } }
        #expect(finite)
        // Clean input passes mostly unchanged.
        #expect(siSDR(reference: at44, estimate: out.channels[0]) > 10)
    }
}
