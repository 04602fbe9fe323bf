import Foundation
import Testing
@testable import DenoiseKit

/// The speech guard raises a bin to the Wiener gain of its SNR against the given noise where that is
/// above what the NMF chain left, and only there; it streams like the rest (its state carried from block to block), and refuses a noise power
/// it cannot use.
@Suite struct SpeechGuardTests {
    /// One frame of `rows` bins through `apply`: input amplitude `input` per bin, cleaned amplitude
    /// `cleaned` per bin, noise power 1 everywhere; returns the output amplitudes.
    static func guarded(input: [Float], cleaned: [Float]) throws -> [Float] {
        let speechGuard = try SpeechGuard(noisePower: [Float](repeating: 1, count: input.count))
        var re = cleaned, im = [Float](repeating: 0, count: input.count)
        let inIm = im
        var state = SpeechGuard.State(bins: input.count)
        speechGuard.apply(re: &re, im: &im, inRe: input, inIm: inIm, rows: input.count, frames: 1, state: &state)
        return re
    }

    @Test func keepsWhatStandsAboveTheNoiseAndLeavesTheRestToTheChain() throws {
        // 40 dB above the noise, cleaned to nothing: the guard's gain. At the noise's level, or cleaned
        // more gently than the guard would: the chain's.
        let out = try Self.guarded(input: [100, 1, 100], cleaned: [0, 0.5, 100])
        let prior = (1 - SpeechGuard.smoothing) * (100 * 100 - 1)
        #expect(abs(out[0] - 100 * prior / (1 + prior)) < 1e-3, "\(out)")
        #expect(out[0] > 99)
        #expect(out[1] == 0.5)
        #expect(out[2] == 100)
    }

    @Test func streamedInChunksEqualsTheWholeSignal() throws {
        let plain = DenoiserTests.makeDenoiser()
        let noise = randomSignal(count: 3 * DenoiserTests.rate, seed: 21, amplitude: 0.02)
        let denoiser = try plain.withSpeechGuard(try #require(try SpeechGuard.measured([noise], stft: plain.stft)))
        let clean = DenoiserTests.voiced(seconds: 2, seed: 22)
        let noisy = zip(clean, randomSignal(count: clean.count, seed: 23, amplitude: 0.02)).map { $0 + $1 }
        let whole = denoiser.denoise(noisy)
        let stream = DenoiserStream(denoiser)
        let streamed = DenoiserTests.inChunks(noisy, seed: 3) { stream.push($0) } + stream.finish()
        let snr = snrDB(reference: whole.map(Double.init), estimate: streamed.map(Double.init))
        #expect(snr > 80, "streamed vs whole: SNR \(snr) dB")
        // The guard acted here (so its state is what the chunks had to carry), and kept the voice at least as well.
        let unguarded = plain.denoise(noisy)
        let change = snrDB(reference: unguarded.map(Double.init), estimate: whole.map(Double.init))
        #expect(change < 40, "the guard changed the output by \(change) dB only")
        let before = siSDR(reference: clean, estimate: unguarded), after = siSDR(reference: clean, estimate: whole)
        #expect(after > before - 0.5, "SI-SDR without the guard \(before) dB, with it \(after) dB")
    }

    @Test func refusesANoisePowerItCannotUse() throws {
        #expect(throws: DenoiseError.self) { try SpeechGuard(noisePower: []) }
        #expect(throws: DenoiseError.self) { try SpeechGuard(noisePower: [1, .nan]) }
        #expect(throws: DenoiseError.self) { try SpeechGuard(noisePower: [1, -1]) }
        let plain = DenoiserTests.makeDenoiser()
        #expect(throws: DenoiseError.self) { try plain.withSpeechGuard(try SpeechGuard(noisePower: [1, 1, 1])) }
        #expect(try SpeechGuard.measured([], stft: plain.stft) == nil)
        #expect(try SpeechGuard.measured([[]], stft: plain.stft) == nil)
    }
}
