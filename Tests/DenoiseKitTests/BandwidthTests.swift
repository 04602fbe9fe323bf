import Foundation
import Testing
@testable import DenoiseKit

/// Band-limited inputs (phones, codecs): the cutoff is found, and the solve leaves out the band the
/// input holds nothing in, so that full-band noise atoms still explain the noise below it.
@Suite struct BandwidthTests {
    /// `x` through a 511-tap Blackman-windowed sinc low-pass at `hz` (stop band below −70 dB),
    /// rounded to 16 bits as a file would be.
    static func lowPassed(_ x: [Float], hz: Double, rate: Int) -> [Float] {
        let taps = 511, centre = taps / 2, fc = hz / Double(rate)
        let h = (0..<taps).map { i -> Double in
            let n = Double(i - centre), a = 2 * Double.pi * Double(i) / Double(taps - 1)
            let sinc = n == 0 ? 2 * fc : sin(2 * .pi * fc * n) / (.pi * n)
            return sinc * (0.42 - 0.5 * cos(a) + 0.08 * cos(2 * a))
        }
        return x.indices.map { t in
            var s = 0.0
            for k in max(0, t + centre - x.count + 1)..<min(taps, t + centre + 1) { s += h[k] * Double(x[t + centre - k]) }
            return Float((s * 32768).rounded() / 32768)
        }
    }

    @Test func cutoffOfALowPassedRecordingIsFoundAndAFullOneIsNot() throws {
        let rate = 16000, stft = try STFT(STFTConfiguration(nFFT: 1024, hop: 256))
        let white = randomSignal(count: 4 * rate, seed: 7, amplitude: 0.1)
        #expect(InputBandwidth.cutoff(white, stft: stft, sampleRate: rate) == nil)
        for hz in [3400.0, 5800] {
            let cutoff = try #require(InputBandwidth.cutoff(Self.lowPassed(white, hz: hz, rate: rate), stft: stft, sampleRate: rate))
            // The transition band (about 100 Hz wide) is kept, and nothing far above it.
            #expect(cutoff > hz && cutoff < hz + 400, "cut at \(hz) Hz, found \(cutoff) Hz")
        }
        // A tone in the stop band does not make the band full; a silent input has no cutoff.
        var toned = Self.lowPassed(white, hz: 4000, rate: rate)
        for t in toned.indices { toned[t] += 0.002 * Float(sin(2 * Double.pi * 7000 * Double(t) / Double(rate))) }
        #expect((InputBandwidth.cutoff(toned, stft: stft, sampleRate: rate) ?? 0) < 4500)
        #expect(InputBandwidth.cutoff([Float](repeating: 0, count: rate), stft: stft, sampleRate: rate) == nil)
    }

    @Test(arguments: [0.0, -100, .nan, .infinity]) func aBandwidthThatIsNoFrequencyIsRefused(hz: Double) {
        let (speech, noise) = DenoiserTests.dictionaries
        #expect(throws: DenoiseError.self) { try Denoiser(speech: speech, noise: [noise], options: DenoiserOptions(bandwidth: hz)) }
    }

    /// With `bandwidth` the activations do not depend on the spectrum above it (on bins and on
    /// bands, where the band holding the cutoff is kept whole); without it, they do.
    @Test(arguments: [0, 32]) func theSolveIgnoresTheBandAboveTheCutoff(bands: Int) throws {
        let (speech, noise) = DenoiserTests.dictionaries
        let v = randomMatrix(rows: speech.bins, cols: 20, seed: 3, range: 0.01...1)
        var changed = v
        for t in 0..<v.cols { for f in 100..<v.rows { changed[f, t] *= 5 } }
        func h(_ x: Matrix, _ bandwidth: Double?) throws -> Matrix {
            try Denoiser(speech: speech, noise: [noise], options: DenoiserOptions(iterations: 30, threads: 1, bands: bands, bandwidth: bandwidth)).activations(x)
        }
        // Bin 100 of 129 at 8 kHz is 3125 Hz; 2500 Hz leaves it (and its band) out of the solve.
        #expect(try h(v, 2500).values == h(changed, 2500).values)
        #expect(try h(v, nil).values != h(changed, nil).values)
    }

    /// A band-limited mixture: full-band white-noise atoms predict energy above 2 kHz that the input
    /// lacks, the fit turns them down and the speech atoms take the noise; solved below the cutoff,
    /// the noise atoms explain the noise again.
    @Test func aBandLimitedMixtureIsCleanedBetterWithinItsBand() throws {
        let rate = DenoiserTests.rate, (speech, noise) = DenoiserTests.dictionaries
        let clean = Self.lowPassed(DenoiserTests.voiced(seconds: 4, seed: 60), hz: 2000, rate: rate)
        let noisy = zip(clean, Self.lowPassed(randomSignal(count: clean.count, seed: 61, amplitude: 0.1), hz: 2000, rate: rate)).map { $0 + $1 }
        let cutoff = try #require(InputBandwidth.cutoff(noisy, stft: try STFT(DenoiserTests.stft), sampleRate: rate))
        func snr(_ bandwidth: Double?) throws -> Double {
            let out = try Denoiser(speech: speech, noise: [noise], options: DenoiserOptions(iterations: 60, threads: 1, bands: 0, bandwidth: bandwidth)).denoise(noisy)
            return snrDB(reference: clean.map(Double.init), estimate: out.map(Double.init))
        }
        let full = try snr(nil), limited = try snr(cutoff)
        #expect(limited > full + 1, "full band \(full) dB, below \(cutoff) Hz \(limited) dB")
    }

    /// Atoms learned from the pauses of a band-limited input are learned in its band and are 0 above.
    @Test func adaptationLearnsOnlyTheBandTheInputHolds() throws {
        let rate = DenoiserTests.rate, (speech, noise) = DenoiserTests.dictionaries
        let noisy = Self.lowPassed(zip(DenoiserTests.voiced(seconds: 6, seed: 62), NoiseAdaptationTests.whistle(count: 6 * rate, seed: 63)).map { $0 + $1 },
                                   hz: 3600, rate: rate)
        let options = DenoiserOptions(iterations: 40, threads: 1, bands: 0, bandwidth: 3600)
        let learned = try NoiseAdaptation.learn(noisy, speech: speech, noise: noise, rank: 4, options: options)
        let cutoff = InputBandwidth.bin(of: 3600, bins: speech.bins, sampleRate: rate)
        for k in 0..<learned.rank {
            #expect((cutoff..<speech.bins).allSatisfy { learned.atoms[$0, k] == 0 })
            #expect((0..<cutoff).contains { learned.atoms[$0, k] > 0 })
        }
    }
}
