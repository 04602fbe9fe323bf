import Foundation
import Testing
@testable import DenoiseKit

/// Inputs above the model's rate keep the band above 8 kHz, cleaned (`UpperBand`).
@Suite struct FullBandTests {
    static func denoiser() throws -> Denoiser {
        func dictionary(_ seed: UInt64, _ rank: Int, _ kind: SpectralDictionary.Kind) -> SpectralDictionary {
            SpectralDictionary(atoms: randomMatrix(rows: 513, cols: rank, seed: seed, range: 0.01...1), kind: kind, sampleRate: 16000,
                               stft: STFTConfiguration(nFFT: 1024, hop: 256), beta: 1, iterations: 1)
        }
        return try Denoiser(speech: dictionary(1, 8, .speech), noise: [dictionary(2, 4, .noise)])
    }

    /// What lies above 8 kHz: `x` minus `x` taken to 16 kHz and back.
    static func upperBand(_ x: [Float], rate: Int) throws -> [Float] {
        let lower = try Resampler.resample(try Resampler.resample(x, from: rate, to: 16000), from: 16000, to: rate)
        return zip(x, lower).map { $0 - $1 }
    }

    static func energy(_ x: [Float]) -> Double { x.reduce(0) { $0 + Double($1) * Double($1) } }

    /// 3 s of voiced syllables (harmonics of 150 Hz up to 4 kHz) with fricative bursts above 8 kHz
    /// during each syllable, after 0.25 s of near silence; `hiss` adds steady noise above 8 kHz.
    static func speechLike(rate: Int, hiss: Float = 0) throws -> [Float] {
        var rng = SeededGenerator(seed: 9)
        let n = 3 * rate
        let white = (0..<n).map { _ in 2 * rng.nextUnitFloat() - 1 }
        let high = try upperBand(white, rate: rate)
        var steady = high
        if hiss > 0 { steady = try upperBand((0..<n).map { _ in 2 * rng.nextUnitFloat() - 1 }, rate: rate) }
        return (0..<n).map { i in
            let t = Double(i) / Double(rate)
            let on: Float = t > 0.25 && Int(t * 4) % 2 == 0 ? 1 : 0
            var voiced: Float = 0
            for h in 1...26 { voiced += Float(sin(2 * .pi * 150 * Double(h) * t)) / Float(h) }
            return on * (0.2 * voiced + 0.15 * high[i]) + hiss * steady[i] + 1e-4 * white[i]
        }
    }

    @Test(arguments: [44100, 48000, 96000])
    func theUpperBandOfSpeechSurvives(rate: Int) throws {
        let x = try Self.speechLike(rate: rate)
        let y = try Self.denoiser().denoise(AudioBuffer(sampleRate: rate, mono: x)).channels[0]
        #expect(y.count == x.count && y.allSatisfy(\.isFinite))
        let before = Self.energy(try Self.upperBand(x, rate: rate)), after = Self.energy(try Self.upperBand(y, rate: rate))
        let change = 10 * log10(after / before)
        #expect(abs(change) < 3, "energy above 8 kHz changed by \(change) dB")
    }

    /// Steady hiss above 8 kHz falls where there is no speech (pauses 0.5-0.75 s, 1.0-1.25 s, …).
    @Test func steadyNoiseAbove8kHzIsRemoved() throws {
        let rate = 48000
        let noisy = try Self.speechLike(rate: rate, hiss: 0.05)
        let y = try Self.denoiser().denoise(AudioBuffer(sampleRate: rate, mono: noisy)).channels[0]
        let pauses = (0..<noisy.count).filter { i in
            let t = Double(i) / Double(rate)
            return t > 0.55 && Int(t * 4) % 2 == 1 && (t * 4).truncatingRemainder(dividingBy: 1) > 0.2
        }
        let (inputBand, outputBand) = (try Self.upperBand(noisy, rate: rate), try Self.upperBand(y, rate: rate))
        let reduction = 10 * log10(Self.energy(pauses.map { inputBand[$0] }) / Self.energy(pauses.map { outputBand[$0] }))
        #expect(reduction > 15, "the hiss above 8 kHz fell by only \(reduction) dB in the pauses")
    }

    /// At the model's rate and below there is no upper band: the pipeline is the model's stream alone.
    @Test func atTheModelsRateThePipelineIsTheStreamAlone() throws {
        let x = randomSignal(count: 20000, seed: 3)
        let denoiser = try Self.denoiser()
        let piped = try denoiser.denoise(AudioBuffer(sampleRate: 16000, mono: x)).channels[0]
        let alone: [Float] = denoiser.denoise(x)
        #expect(piped == alone)
    }

    /// The upper band does not depend on how the input is chunked.
    @Test func chunkingDoesNotChangeTheOutput() throws {
        let rate = 48000, x = try Self.speechLike(rate: rate, hiss: 0.02)
        let denoiser = try Self.denoiser()
        var outputs: [[Float]] = []
        for chunk in [x.count, 4801, 777] {
            let pipeline = try CleaningPipeline(denoiser: denoiser, sampleRate: rate, channels: 1)
            var y: [Float] = []
            for start in stride(from: 0, to: x.count, by: chunk) {
                y += x[start..<min(start + chunk, x.count)].withUnsafeBufferPointer { pipeline.process($0) }
            }
            y += pipeline.finish()
            outputs.append(y)
        }
        #expect(outputs[0].count == x.count)
        for y in outputs.dropFirst() {
            #expect(y.count == x.count && zip(y, outputs[0]).map { abs($0 - $1) }.max()! < 1e-5)
        }
    }
}
