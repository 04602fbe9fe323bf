import Foundation
import Testing
@testable import DenoiseKit

/// `run --adapt`: noise atoms learned from a recording's own pauses clean noise that the given
/// noise dictionary does not describe.
@Suite struct NoiseAdaptationTests {
    /// Noise in a narrow band around 3.2 kHz (white noise through a resonator): nothing like the
    /// white-noise dictionary's flat atoms.
    static func whistle(count: Int, seed: UInt64) -> [Float] {
        let x = randomSignal(count: count, seed: seed, amplitude: 0.02)
        let r: Float = 0.98, c = 2 * r * Float(cos(2 * Double.pi * 3200 / Double(DenoiserTests.rate)))
        var y = [Float](repeating: 0, count: count)
        for n in 2..<count { y[n] = x[n] + c * y[n - 1] - r * r * y[n - 2] }
        return y
    }

    @Test func atomsFromThePausesCleanNoiseTheDictionaryLacks() throws {
        let (speech, white) = DenoiserTests.dictionaries
        let clean = DenoiserTests.voiced(seconds: 6, seed: 40)
        let noisy = zip(clean, Self.whistle(count: clean.count, seed: 41)).map { $0 + $1 }
        let options = DenoiserOptions(iterations: 60, threads: 1, bands: 0)
        let learned = try NoiseAdaptation.learn(noisy, speech: speech, noise: white, rank: 4, options: options)
        #expect(learned.rank == 4 && learned.kind == .noise && learned.sampleRate == speech.sampleRate)

        func snr(_ noise: [SpectralDictionary]) throws -> Double {
            let out = try Denoiser(speech: speech, noise: noise, options: options).denoise(noisy)
            return snrDB(reference: clean.map(Double.init), estimate: out.map(Double.init))
        }
        let input = snrDB(reference: clean.map(Double.init), estimate: noisy.map(Double.init))
        let plain = try snr([white]), adapted = try snr([white, learned])
        // The flat atoms of the white-noise dictionary explain the band only roughly (input 3.5 dB,
        // white only 16.7 dB); atoms learned on it remove more (19.2 dB).
        #expect(adapted > plain + 1.5, "input \(input) dB, white only \(plain) dB, with learned atoms \(adapted) dB")
        #expect(adapted > input + 12)
    }

    @Test func tooShortARecordingIsRefused() {
        let (speech, white) = DenoiserTests.dictionaries
        #expect(throws: DenoiseError.noAudio("too short to learn its noise from its pauses: 10 frames, at least 16 are needed")) {
            try NoiseAdaptation.learn([Float](repeating: 0.01, count: 400), speech: speech, noise: white)
        }
    }
}

/// The steady floor of the speech estimate counted as noise: it cleans steady noise that the speech
/// atoms explain and leaves speech alone.
@Suite struct SteadyNoiseTests {
    /// A steady drone with speech's own harmonic shape (f0 115 Hz): the harmonic speech atoms explain
    /// it, the white-noise atoms do not, so without the floor the mask keeps it.
    static func drone(count: Int) -> [Float] {
        (0..<count).map { n in
            let t = Double(n) / Double(DenoiserTests.rate)
            return Float(0.06 * (1...12).reduce(0.0) { $0 + sin(2 * .pi * 115 * Double($1) * t) / Double($1) })
        }
    }

    @Test func theFloorCleansSteadyNoiseTheSpeechAtomsExplain() throws {
        let (speech, white) = DenoiserTests.dictionaries
        let clean = DenoiserTests.voiced(seconds: 6, seed: 70)
        let noisy = zip(clean, Self.drone(count: clean.count)).map { $0 + $1 }
        let options = DenoiserOptions(iterations: 60, threads: 1, bands: 0)
        let plain = try Denoiser(speech: speech, noise: [white], options: options)
        let floor = try #require(SteadyNoise.floor(of: noisy, denoiser: plain))
        #expect(floor.count == speech.bins && floor.allSatisfy { $0 >= 0 && $0.isFinite })
        // The floor sits on the drone's harmonics (115 Hz: bin 3.7 of 129 at 8 kHz) more than between them.
        let onHarmonic = floor[7], between = floor[9]
        #expect(onHarmonic > 3 * between, "floor on the drone's 2nd harmonic \(onHarmonic), between harmonics \(between)")
        func snr(_ d: Denoiser, _ x: [Float], _ reference: [Float]) -> Double {
            snrDB(reference: reference.map(Double.init), estimate: d.denoise(x).map(Double.init))
        }
        let floored = try plain.withSteadyNoise(floor)
        let input = snr(plain, clean, clean), before = snr(plain, noisy, clean), after = snr(floored, noisy, clean)
        #expect(after > before + 1, "without the floor \(before) dB, with it \(after) dB")
        // Clean speech has almost no steady floor: its output hardly changes.
        let own = try plain.withSteadyNoise(try #require(SteadyNoise.floor(of: clean, denoiser: plain)))
        #expect(snr(own, clean, clean) > input - 1)
    }

    @Test func aFloorOfTheWrongSizeIsRefused() {
        let (speech, white) = DenoiserTests.dictionaries
        #expect(throws: DenoiseError.self) { try Denoiser(speech: speech, noise: [white], steadyNoise: [1, 2, 3]) }
        #expect(throws: DenoiseError.self) { try Denoiser(speech: speech, noise: [white], steadyNoise: [Float](repeating: -1, count: speech.bins)) }
    }
}
