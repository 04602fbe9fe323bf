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

    @Test func severalNoiseSourcesAreSummedFromDistinctGroupsBelowTheFirst() {
        let rate = Self.rate
        let speech = [DenoiserTests.voiced(seconds: 30, seed: 5)]
        // Two groups, one tone each: a mixture's noise holds both tones when it sums two sources.
        let tones: [Double] = [500, 3000]
        let groups = tones.map { [AudioTests.sine($0, rate: rate, seconds: 4, amplitude: 0.2)] }
        func amplitude(_ x: [Float], _ f: Double) -> Double {
            var re = 0.0, im = 0.0
            for (j, v) in x.enumerated() { re += Double(v) * cos(2 * .pi * f * Double(j) / Double(rate)); im += Double(v) * sin(2 * .pi * f * Double(j) / Double(rate)) }
            return 2 * (re * re + im * im).squareRoot() / Double(x.count)
        }
        for sources in [1, 2] {
            let m = DiscriminativeTrainer.makeMixtures(speech: speech, noiseGroups: groups,
                                                       options: DiscriminativeOptions(mixtures: 8, seconds: 1, noiseSources: sources, seed: 9), sampleRate: rate)
            for (i, x) in m.enumerated() {
                let ps = x.speech.reduce(0.0) { $0 + Double($1 * $1) }, pn = x.noise.reduce(0.0) { $0 + Double($1 * $1) }
                #expect(abs(10 * log10(ps / pn) - Double([-5, 0, 5, 10][i % 4])) < 0.01)
                let a = tones.map { amplitude(x.noise, $0) }
                let (loud, quiet) = (a.max()!, a.min()!)
                if sources == 1 {
                    #expect(quiet < 0.01 * loud, "mixture \(i): one tone only, got \(a)")
                } else {
                    let below = 20 * log10(loud / quiet)
                    #expect(below <= 12.1, "mixture \(i): the second source \(below) dB below the first")
                }
            }
        }
        #expect(throws: DenoiseError.self) { try DiscriminativeOptions(noiseSources: 0).validate() }
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

    /// Context stacking: column t holds columns t − past … t + future, zero across segment edges.
    @Test func contextStacksNeighbouringColumnsWithinSegments() {
        let h = Matrix(rows: 1, cols: 5, storage: [1, 2, 3, 4, 5])
        let stacked = stackContext(h, lengths: [3, 2], context: MaskContext(past: 1, future: 1))
        #expect(stacked.rows == 3)
        #expect(stacked.storage == [0, 1, 2,  1, 2, 3,  2, 3, 0,  0, 4, 5,  4, 5, 0])
    }

    /// Mask bases over several frames, `bases` at offset 0 and `sides(o)` at offset o.
    static func withContext(_ trained: SpectralDictionary, _ context: MaskContext,
                            sides: (Int, Matrix) -> Matrix) -> SpectralDictionary {
        var d = trained
        let b = trained.maskBases!
        d.maskBases = .init(noise: Matrix.hstack(context.offsets.map { $0 == 0 ? b.noise : sides($0, b.noise) }),
                            speech: Matrix.hstack(context.offsets.map { $0 == 0 ? b.speech : sides($0, b.speech) }),
                            speechFingerprint: b.speechFingerprint, context: context)
        return d
    }

    static let trainedBases: SpectralDictionary = {
        let (speech, noise) = DenoiserTests.dictionaries
        return try! DiscriminativeTrainer.train(speech: speech, noise: noise, mixtures: mixtures(seed: 4),
                                                options: DiscriminativeOptions(iterations: 5, run: DenoiserOptions(iterations: 30))).0
    }()

    /// Neighbouring frames with zero bases change nothing: the same output as frame-only bases,
    /// streamed in any chunks, with the input's length (the delayed frames are flushed).
    @Test func silentContextGivesTheFrameOnlyResult() throws {
        let speech = DenoiserTests.dictionaries.speech
        let options = DenoiserOptions(iterations: 30, blockFrames: 9, threads: 1, bands: 0)
        let clean = DenoiserTests.voiced(seconds: 2, seed: 21)
        let noisy = zip(clean, randomSignal(count: clean.count, seed: 22, amplitude: 0.1)).map { $0 + $1 }
        let plain = try Denoiser(speech: speech, noise: [Self.trainedBases], options: options).denoise(noisy)
        let silent = Self.withContext(Self.trainedBases, MaskContext(past: 2, future: 3)) { Matrix(rows: $1.rows, cols: $1.cols) }
        let denoiser = try Denoiser(speech: speech, noise: [silent], options: options)
        #expect(denoiser.usesMaskBases && denoiser.context.future == 3)
        let stream = DenoiserStream(denoiser)
        var streamed = DenoiserTests.inChunks(noisy, seed: 2) { stream.push($0) }
        streamed += stream.finish()
        #expect(streamed.count == noisy.count)
        let snr = snrDB(reference: plain.map(Double.init), estimate: streamed.map(Double.init))
        #expect(snr > 80, "silent context vs frame only: SNR \(snr) dB")
        // The future frames delay the output by that many hops, and no more.
        let latency = DenoiserStream(denoiser)
        var received = 0, released = 0
        let chunk = [Float](repeating: 0.1, count: 64)
        for _ in 0..<100 {
            released += chunk.withUnsafeBufferPointer { latency.push($0) }.count
            received += chunk.count
            #expect(received - released <= speech.stft.nFFT + 3 * speech.stft.hop)
        }
        #expect(received - released > speech.stft.nFFT)
    }

    /// A noise dictionary without bases (a --noise-sample, --adapt) beside one with bases is brought to
    /// the bases' scale: with bases that are just the dictionaries scaled up 50× (the mask, a ratio,
    /// is the same), the extra noise counts exactly as it does beside the plain dictionaries.
    @Test func extraNoiseIsBroughtToTheBasesScale() throws {
        let (speech, white) = DenoiserTests.dictionaries
        let options = DenoiserOptions(iterations: 30, threads: 1, bands: 0)
        let clean = DenoiserTests.voiced(seconds: 2, seed: 23)
        let hum = NoiseSelectionTests.hum(count: clean.count, seed: 24)
        let noisy = zip(clean, hum).map { $0 + $1 }
        let extra = try DenoiserTests.dictionary(NoiseSelectionTests.hum(count: 3 * DenoiserTests.rate, seed: 25), kind: .noise, rank: 2)
        func scaled(_ m: Matrix) -> Matrix { Matrix(rows: m.rows, cols: m.cols, storage: m.storage.map { 50 * $0 }) }
        var withBases = white
        withBases.maskBases = .init(noise: scaled(white.atoms), speech: scaled(speech.atoms), speechFingerprint: speech.fingerprint)
        let plain = try Denoiser(speech: speech, noise: [white, extra], options: options).denoise(noisy)
        let denoiser = try Denoiser(speech: speech, noise: [withBases, extra], options: options)
        #expect(denoiser.usesMaskBases)
        let snr = snrDB(reference: plain.map(Double.init), estimate: denoiser.denoise(noisy).map(Double.init))
        #expect(snr > 60, "scaled bases with an extra dictionary vs plain: SNR \(snr) dB")
    }

    /// The streamed mask with context equals the mask written out over the whole spectrogram:
    /// S_t = Σ_o W̃_s,o·H_s(t + o), N_t likewise, gain (S²/(S² + N²))ᵞ, zero activations outside the
    /// signal; for the gain exponents with their own code (1, 1.25, 1.5) and one through powf.
    @Test(arguments: [Float(1), 1.25, 1.5, 1.7]) func contextMaskMatchesADirectComputation(gainExponent: Float) throws {
        let speech = DenoiserTests.dictionaries.speech
        let context = MaskContext(past: 1, future: 2)
        let bases = Self.withContext(Self.trainedBases, context) { o, m in
            Matrix(rows: m.rows, cols: m.cols, storage: m.storage.map { $0 * Float(3 + o) / 8 })
        }
        let options = DenoiserOptions(iterations: 30, maskPower: 2, blockFrames: 16, threads: 1, bands: 0, gainExponent: gainExponent)
        let denoiser = try Denoiser(speech: speech, noise: [bases], options: options)
        let clean = DenoiserTests.voiced(seconds: 1.5, seed: 23)
        let noisy = zip(clean, randomSignal(count: clean.count, seed: 24, amplitude: 0.1)).map { $0 + $1 }
        let output = denoiser.denoise(noisy)

        let stft = try STFT(speech.stft)
        var x = stft.forward(noisy)
        let h = denoiser.activations(x.magnitude())
        let ks = speech.rank, kn = h.rows - ks, frames = h.cols, bins = speech.bins
        let b = bases.maskBases!
        for t in 0..<frames {
            var s = [Double](repeating: 0, count: bins), n = s
            for (block, o) in context.offsets.enumerated() where (0..<frames).contains(t + o) {
                for f in 0..<bins {
                    for k in 0..<ks { s[f] += Double(b.speech[f, block * ks + k]) * Double(h[k, t + o]) }
                    for k in 0..<kn { n[f] += Double(b.noise[f, block * kn + k]) * Double(h[ks + k, t + o]) }
                }
            }
            for f in 0..<bins {
                let m = Float(pow(s[f] * s[f] / max(s[f] * s[f] + n[f] * n[f], 1e-300), Double(gainExponent)))
                x.real[f, t] *= m
                x.imag[f, t] *= m
            }
        }
        let reference = stft.inverse(x, length: noisy.count)
        let snr = snrDB(reference: reference.map(Double.init), estimate: output.map(Double.init))
        #expect(snr > 60, "streamed vs direct: SNR \(snr) dB")
    }

    /// Training with context: the cost never rises, the bases have a block per frame, and they
    /// survive the file.
    @Test func contextBasesTrainAndRoundTrip() throws {
        let (speech, noise) = DenoiserTests.dictionaries
        let options = DiscriminativeOptions(iterations: 8, run: DenoiserOptions(iterations: 30), context: MaskContext(past: 1, future: 1))
        let (trained, costs) = try DiscriminativeTrainer.train(speech: speech, noise: noise, mixtures: Self.mixtures(seed: 5), options: options)
        for (a, b) in zip(costs, costs.dropFirst()) { #expect(b <= a) }
        #expect(costs.last! < costs.first!)
        #expect(trained.maskBases?.speech.cols == 3 * speech.rank && trained.maskBases?.noise.cols == 3 * noise.rank)
        var back = try SpectralDictionary.decode(trained.encoded())
        back.origin = nil
        #expect(back == trained)
        #expect(try Denoiser(speech: speech, noise: [trained]).context == MaskContext(past: 1, future: 1))
    }

    /// Solve layers trained with the bases: the cost never rises and ends below the bases' own
    /// training, the layers survive the file, and `run` solves with them (a different H than the
    /// plain solve, and the one the trainer ended with).
    @Test func solveLayersTrainLowerTheCostAndRoundTrip() throws {
        let (speech, noise) = DenoiserTests.dictionaries
        let run = DenoiserOptions(iterations: 20, threads: 1, bands: 0)
        let mixtures = Self.mixtures(seed: 6, count: 8)
        let bases = DiscriminativeOptions(iterations: 10, run: run)
        var layered = bases
        layered.layers = 4
        layered.layerSteps = 15
        let (plain, plainCosts) = try DiscriminativeTrainer.train(speech: speech, noise: noise, mixtures: mixtures, options: bases)
        let (trained, costs) = try DiscriminativeTrainer.train(speech: speech, noise: noise, mixtures: mixtures, options: layered)
        for (a, b) in zip(costs, costs.dropFirst()) { #expect(b <= a) }
        #expect(costs.count > plainCosts.count)
        #expect(costs.last! < 0.98 * plainCosts.last!, "with layers \(costs.last!), bases alone \(plainCosts.last!)")
        #expect(trained.maskBases?.layerCount == 4 && plain.maskBases?.layers == nil)
        var back = try SpectralDictionary.decode(trained.encoded())
        back.origin = nil
        #expect(back == trained)

        let denoiser = try Denoiser(speech: speech, noise: [trained], options: run)
        #expect(denoiser.trainedLayers == 4)
        let noisy = zip(DenoiserTests.voiced(seconds: 1, seed: 7), randomSignal(count: DenoiserTests.rate, seed: 8, amplitude: 0.1)).map { $0 + $1 }
        let v = try STFT(speech.stft).forward(noisy).magnitude()
        let withLayers = denoiser.activations(v)
        var stripped = trained
        stripped.maskBases?.layers = nil
        let withoutLayers = try Denoiser(speech: speech, noise: [stripped], options: run).activations(v)
        #expect(zip(withLayers.storage, withoutLayers.storage).contains { abs($0 - $1) > 1e-3 * max(abs($0), 1e-3) })
        // Beside a run-time dictionary (a --noise-sample), each layer keeps its trained atoms and the
        // extra dictionary's atoms, at the scale of the layer's speech atoms, fill the extra rows.
        let extra = try DenoiserTests.dictionary(randomSignal(count: 2 * DenoiserTests.rate, seed: 9, amplitude: 0.1), kind: .noise, rank: 2)
        #expect(try Denoiser(speech: speech, noise: [trained, extra], options: run).trainedLayers == 4)
        let layers = Denoiser.solveLayers(trained.maskBases!.layers!, count: 4, speech: speech, noise: [extra, trained],
                                          withBases: 1, bands: nil)
        let width = speech.rank + noise.rank, full = width + extra.rank
        #expect(layers.cols == 4 * full)
        for layer in 0..<4 {
            let block = layers.columns((layer * full)..<((layer + 1) * full))
            let trainedBlock = trained.maskBases!.layers!.columns((layer * width)..<((layer + 1) * width))
            #expect(block.columns(0..<speech.rank) == trainedBlock.columns(0..<speech.rank))
            let scale = Denoiser.scale(of: trainedBlock.columns(0..<speech.rank), against: speech.atoms)
            #expect(block.columns(speech.rank..<(speech.rank + extra.rank)) == Denoiser.scaledRows(extra.atoms, scale))
            #expect(block.columns((speech.rank + extra.rank)..<full) == trainedBlock.columns(speech.rank..<width))
        }
        // Layers trained on another frequency axis are not used.
        #expect(try Denoiser(speech: speech, noise: [trained], options: DenoiserOptions(iterations: 20, threads: 1, bands: 32)).trainedLayers == 0)
        // β other than 1 cannot train layers.
        var itakura = noise
        itakura.beta = 0
        #expect(throws: DenoiseError.self) { try DiscriminativeTrainer.train(speech: speech, noise: itakura, mixtures: mixtures, options: layered) }
    }
}
