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

    static func makeDenoiser(blockFrames: Int = 512, threads: Int = 1, bands: Int = 0) -> Denoiser {
        try! Denoiser(speech: dictionaries.speech, noise: [dictionaries.noise],
                      options: DenoiserOptions(iterations: 60, blockFrames: blockFrames, threads: threads, bands: bands))
    }

    /// One model, many streams at once: each stream's output equals what it gives alone (the
    /// streams carry their own memory; the FFTW plans are shared).
    @Test func streamsOfOneModelRunAtOnce() {
        let denoiser = Self.makeDenoiser(threads: 1)
        let signals = (0..<4).map { k in zip(Self.voiced(seconds: 2, seed: 40 + UInt64(k)), randomSignal(count: 2 * Self.rate, seed: 50 + UInt64(k), amplitude: 0.1)).map { $0 + $1 } }
        @Sendable func streamed(_ x: [Float]) -> [Float] {
            let stream = DenoiserStream(denoiser)
            var out: [Float] = []
            for start in stride(from: 0, to: x.count, by: 777) {
                out += x[start..<min(start + 777, x.count)].withUnsafeBufferPointer { stream.push($0) }
            }
            return out + stream.finish()
        }
        let alone = signals.map(streamed)
        let together = UnsafeSendable(UnsafeMutableBufferPointer<[Float]>.allocate(capacity: signals.count))
        defer { together.value.deallocate() }
        _ = together.value.initialize(from: Array(repeating: [], count: signals.count))
        DispatchQueue.concurrentPerform(iterations: signals.count) { k in together.value[k] = streamed(signals[k]) }
        for k in signals.indices { #expect(together.value[k] == alone[k], "stream \(k)") }
    }

    /// Columns split between threads give the single-threaded result.
    @Test func threadedSolveGivesTheSingleThreadedResult() {
        let clean = Self.voiced(seconds: 3, seed: 13)
        let noisy = zip(clean, randomSignal(count: clean.count, seed: 14, amplitude: 0.1)).map { $0 + $1 }
        let single = Self.makeDenoiser(threads: 1).denoise(noisy), threaded = Self.makeDenoiser(threads: 2).denoise(noisy)
        let snr = snrDB(reference: single.map(Double.init), estimate: threaded.map(Double.init))
        #expect(snr > 80, "threaded vs single: SNR \(snr) dB")
    }

    /// A gain floor of 1 keeps every bin whole: the output is the input (perfect reconstruction);
    /// a floor between leaves at least that share of the noise.
    @Test func gainFloorBoundsTheMaskFromBelow() throws {
        let clean = Self.voiced(seconds: 1, seed: 15)
        let noisy = zip(clean, randomSignal(count: clean.count, seed: 16, amplitude: 0.1)).map { $0 + $1 }
        func denoiser(_ floor: Float) throws -> Denoiser {
            try Denoiser(speech: Self.dictionaries.speech, noise: [Self.dictionaries.noise],
                         options: DenoiserOptions(iterations: 20, threads: 1, bands: 0, gainFloor: floor))
        }
        let whole = try denoiser(1).denoise(noisy)
        #expect(snrDB(reference: noisy.map(Double.init), estimate: whole.map(Double.init)) > 100)
        let energy = { (x: [Float]) in x.reduce(0.0) { $0 + Double($1) * Double($1) } }
        let removed = { (y: [Float]) in energy(zip(noisy, y).map { $0 - $1 }) }
        let plain = try denoiser(0).denoise(noisy), floored = try denoiser(0.3).denoise(noisy)
        #expect(removed(floored) < removed(plain))
    }

    /// Solving on bands is cheaper and still separates.
    @Test func solvingOnBandsStillSeparates() {
        let clean = Self.voiced(seconds: 4, seed: 99)
        let noisy = zip(clean, randomSignal(count: clean.count, seed: 98, amplitude: 0.15)).map { $0 + $1 }
        let full = siSDR(reference: clean, estimate: Self.makeDenoiser().denoise(noisy))
        let banded = siSDR(reference: clean, estimate: Self.makeDenoiser(bands: 48).denoise(noisy))
        #expect(banded > siSDR(reference: clean, estimate: noisy) + 5 && banded > full - 1.5, "bins \(full) dB, bands \(banded) dB")
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

    /// Pushes `x` in chunks of seeded random sizes (some empty, some a single sample), in units of
    /// `unit` samples (the channel count of interleaved audio).
    static func inChunks(_ x: [Float], unit: Int = 1, seed: UInt64, _ push: (UnsafeBufferPointer<Float>) -> [Float]) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        var out: [Float] = [], i = 0
        while i < x.count {
            let n = min(x.count - i, unit * [0, 1, 37, 256, 1000, 4099][Int(rng.next() % 6)])
            out += x.withUnsafeBufferPointer { push(UnsafeBufferPointer(rebasing: $0[i..<(i + n)])) }
            i += n
        }
        return out
    }

    /// Streaming (as from a pipe, in arbitrary chunks) gives the whole-signal result.
    @Test func streamingGivesTheWholeSignalResult() throws {
        let clean = Self.voiced(seconds: 2, seed: 8)
        let noisy = zip(clean, randomSignal(count: clean.count, seed: 9, amplitude: 0.1)).map { $0 + $1 }
        let whole = Self.makeDenoiser().denoise(noisy)
        let stream = DenoiserStream(Self.makeDenoiser())
        var streamed = Self.inChunks(noisy, seed: 1) { stream.push($0) }
        streamed += stream.finish()
        #expect(streamed.count == noisy.count)
        let snr = snrDB(reference: whole.map(Double.init), estimate: streamed.map(Double.init))
        #expect(snr > 80, "streamed vs whole: SNR \(snr) dB")
    }

    /// A sample comes out at most one window after it went in.
    @Test func streamLatencyIsAtMostOneWindow() {
        let stream = DenoiserStream(Self.makeDenoiser())
        var received = 0, released = 0
        let chunk = [Float](repeating: 0.1, count: 64)
        for _ in 0..<100 {
            released += chunk.withUnsafeBufferPointer { stream.push($0) }.count
            received += chunk.count
            #expect(received - released <= Self.stft.nFFT)
        }
    }

    /// The multichannel pipeline with rate conversion, fed in chunks, gives the in-memory result.
    @Test func pipelineInChunksGivesTheInMemoryResult() throws {
        let x = try Resampler.resample(Self.voiced(seconds: 1.5, seed: 10), from: Self.rate, to: 22050)
        let y = zip(x, randomSignal(count: x.count, seed: 11, amplitude: 0.05)).map { $0 + $1 }
        let audio = AudioBuffer(sampleRate: 22050, channels: [x, y])
        let expected = try Self.makeDenoiser().denoise(audio)
        let pipeline = try CleaningPipeline(denoiser: Self.makeDenoiser(), sampleRate: 22050, channels: 2)
        var interleaved = [Float](repeating: 0, count: 2 * x.count)
        for i in x.indices { interleaved[2 * i] = x[i]; interleaved[2 * i + 1] = y[i] }
        var out = Self.inChunks(interleaved, unit: 2, seed: 2) { pipeline.process($0) }
        out += pipeline.finish()
        #expect(out.count == interleaved.count)
        for c in 0..<2 {
            let channel = stride(from: c, to: out.count, by: 2).map { Double(out[$0]) }
            let snr = snrDB(reference: expected.channels[c].map(Double.init), estimate: channel)
            #expect(snr > 80, "channel \(c): SNR \(snr) dB")
        }
    }

    @Test func resamplingInChunksGivesTheOneShotResult() throws {
        let x = randomSignal(count: 30_000, seed: 12, amplitude: 0.5)
        let whole = try Resampler.resample(x, from: 44100, to: 16000)
        let stream = try ResamplerStream(from: 44100, to: 16000)
        var chunked = Self.inChunks(x, seed: 3) { stream.process($0) }
        chunked += stream.finish()
        let expectedCount = Int((30_000.0 * 16000 / 44100).rounded())
        #expect(chunked.count == whole.count && whole.count == expectedCount)
        #expect(snrDB(reference: whole.map(Double.init), estimate: chunked.map(Double.init)) > 100)
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
