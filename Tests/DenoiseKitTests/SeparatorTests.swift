import Foundation
import Testing
@testable import DenoiseKit

/// N-source separation on sources whose spectra are known.
@Suite struct SeparatorTests {
    static let rate = DenoiserTests.rate

    /// Steady tones at 400, 900 and 1500 Hz, their levels wandering.
    static func tones(seconds: Double, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        let n = Int(seconds * Double(rate))
        let phases = (0..<3).map { _ in Double(rng.nextUnitFloat()) * 2 * .pi }
        return (0..<n).map { i in
            let t = Double(i) / Double(rate)
            let level = 0.6 + 0.4 * sin(2 * .pi * 0.7 * t + phases[0])
            return Float(level * 0.1 * (sin(2 * .pi * 400 * t + phases[0]) + sin(2 * .pi * 900 * t + phases[1]) + sin(2 * .pi * 1500 * t + phases[2])))
        }
    }

    /// Noise in the band 2.5-3.5 kHz (of 4): white noise with every other bin of its STFT removed.
    static func bandNoise(seconds: Double, seed: UInt64) throws -> [Float] {
        let x = randomSignal(count: Int(seconds * Double(rate)), seed: seed, amplitude: 0.2)
        let stft = try STFT(DenoiserTests.stft)
        var spectrum = stft.forward(x)
        let bins = spectrum.real.rows, lo = bins * 5 / 8, hi = bins * 7 / 8
        for t in 0..<spectrum.real.cols {
            for f in 0..<bins where !(lo..<hi).contains(f) {
                spectrum.real[f, t] = 0
                spectrum.imag[f, t] = 0
            }
        }
        return stft.inverse(spectrum, length: x.count)
    }

    static let dictionaries: (tones: SpectralDictionary, band: SpectralDictionary) = (
        try! DenoiserTests.dictionary(tones(seconds: 6, seed: 1), kind: SpectralDictionary.Kind(rawValue: "tones")!, rank: 4),
        try! DenoiserTests.dictionary(try! bandNoise(seconds: 6, seed: 2), kind: SpectralDictionary.Kind(rawValue: "band")!, rank: 4)
    )

    static func separator(_ dictionaries: [SpectralDictionary]? = nil, options: SeparatorOptions = SeparatorOptions(threads: 1, bands: 0)) throws -> Separator {
        let d = dictionaries ?? [Self.dictionaries.tones, Self.dictionaries.band]
        return try Separator(sources: d.enumerated().map { Separator.Source(name: "s\($0.offset)", dictionary: $0.element) }, options: options)
    }

    /// Disjoint spectra: each output is its own source, to a high SNR.
    @Test func sourcesWithDisjointSpectraAreRecovered() throws {
        let a = Self.tones(seconds: 3, seed: 11), b = try Self.bandNoise(seconds: 3, seed: 12)
        let parts = try Self.separator().separate(zip(a, b).map { $0 + $1 })
        let snrA = snrDB(reference: a.map(Double.init), estimate: parts[0].map(Double.init))
        let snrB = snrDB(reference: b.map(Double.init), estimate: parts[1].map(Double.init))
        #expect(parts.count == 2 && parts.allSatisfy { $0.count == a.count })
        #expect(snrA > 20, "tones: \(snrA) dB")
        #expect(snrB > 20, "band noise: \(snrB) dB")
    }

    /// The masks sum to one, so the outputs sum to the input (three sources, random dictionaries).
    @Test func outputsSumToTheInput() throws {
        let third = SpectralDictionary(atoms: randomMatrix(rows: DenoiserTests.stft.bins, cols: 3, seed: 5, range: 0.01...1),
                                       kind: .noise, sampleRate: Self.rate, stft: DenoiserTests.stft, beta: 1, iterations: 1)
        let x = randomSignal(count: 3 * Self.rate + 17, seed: 6)
        let parts = try Self.separator([Self.dictionaries.tones, Self.dictionaries.band, third],
                                       options: SeparatorOptions(maskPower: 2, threads: 1)).separate(x)
        var worst: Float = 0
        for i in x.indices { worst = max(worst, abs(parts[0][i] + parts[1][i] + parts[2][i] - x[i])) }
        #expect(worst < 1e-5, "largest |Σ outputs − input| = \(worst)")
    }

    /// Above the dictionaries' rate the band goes to one source, and every channel's sources still
    /// sum to the input, with the input's length.
    @Test func aFasterStereoInputKeepsItsBandAndSum() throws {
        let separator = try Self.separator()
        let rate = 3 * Self.rate, frames = 2 * rate + 5
        let left = randomSignal(count: frames, seed: 7), right = randomSignal(count: frames, seed: 8)
        var interleaved = [Float](repeating: 0, count: 2 * frames)
        for i in 0..<frames { interleaved[2 * i] = left[i]; interleaved[2 * i + 1] = right[i] }
        let pipeline = try SeparationPipeline(separator: separator, sampleRate: rate, channels: 2, upperBandSource: 1)
        var outputs: [[Float]] = [[], []]
        for chunk in stride(from: 0, to: interleaved.count, by: 2 * 1001) {
            let part = interleaved[chunk..<min(chunk + 2 * 1001, interleaved.count)]
            let got = part.withUnsafeBufferPointer { pipeline.process($0) }
            for s in 0..<2 { outputs[s] += got[s] }
        }
        let tail = pipeline.finish()
        for s in 0..<2 { outputs[s] += tail[s] }
        #expect(outputs.allSatisfy { $0.count == interleaved.count })
        var worst: Float = 0
        for i in interleaved.indices { worst = max(worst, abs(outputs[0][i] + outputs[1][i] - interleaved[i])) }
        #expect(worst < 1e-4, "largest |Σ outputs − input| = \(worst)")
        // White noise has as much above 4 kHz as below: the band's source gets most of it.
        let energy = outputs.map { $0.reduce(0) { $0 + Double($1 * $1) } }
        #expect(energy[1] > energy[0], "energies \(energy)")
    }

    /// Chunked pushes give the whole-signal result exactly.
    @Test func streamDoesNotDependOnChunking() throws {
        let x = randomSignal(count: 2 * Self.rate + 3, seed: 9)
        let whole = try Self.separator().separate(x)
        let stream = SeparatorStream(try Self.separator(options: SeparatorOptions(blockFrames: 7, threads: 1, bands: 0)))
        var parts: [[Float]] = [[], []]
        for start in stride(from: 0, to: x.count, by: 333) {
            let got = x[start..<min(start + 333, x.count)].withUnsafeBufferPointer { stream.push($0) }
            for s in 0..<2 { parts[s] += got[s] }
        }
        let tail = stream.finish()
        for s in 0..<2 { parts[s] += tail[s] }
        for s in 0..<2 {
            let snr = snrDB(reference: whole[s].map(Double.init), estimate: parts[s].map(Double.init))
            #expect(snr > 100, "source \(s): \(snr) dB")
        }
    }

    /// Two sources with overlapping spectra: trained bases lower the training cost at every step,
    /// survive a file round trip, are used for exactly their set, and fit new mixtures better than the atoms.
    @Test func trainedBasesLowerTheCostAndAreUsedForTheirSetOnly() throws {
        let speech = DenoiserTests.dictionaries.speech
        let noise = DenoiserTests.dictionaries.noise
        let sources = [Separator.Source(name: "voice", dictionary: speech), Separator.Source(name: "noise", dictionary: noise)]
        let signals = [[DenoiserTests.voiced(seconds: 20, seed: 1)], [randomSignal(count: 10 * Self.rate, seed: 2, amplitude: 0.1)]]
        let options = SeparationTrainingOptions(mixtures: 30, seconds: 3, levels: [0, 5], iterations: 20,
                                                run: SeparatorOptions(threads: 1, bands: 0))
        let mixtures = SourceMaskTrainer.makeMixtures(signals: signals, options: options, sampleRate: Self.rate)
        let (trained, costs) = try SourceMaskTrainer.train(sources: sources, mixtures: mixtures, options: options)
        #expect(costs.count == 21)
        #expect(zip(costs, costs.dropFirst()).allSatisfy { $1 < $0 }, "costs \(costs)")
        let reread = try trained.map { try SpectralDictionary.decode($0.encoded()) }
        #expect(reread.map(\.separationBases) == trained.map(\.separationBases))
        #expect(reread.allSatisfy { $0.fingerprint == speech.fingerprint || $0.fingerprint == noise.fingerprint })

        let withBases = try Self.separator(reread, options: options.run)
        #expect(withBases.usesTrainedBases)
        #expect(Separator.unusedBases(reread).isEmpty)
        let other = [reread[0], Self.dictionaries.band]
        #expect(try !Self.separator(other, options: options.run).usesTrainedBases)
        #expect(Separator.unusedBases(other).map(\.fingerprint) == [speech.fingerprint])

        // On new mixtures of the same kinds of source, the masks from the trained bases fit the
        // sources better than those from the atoms (the cost training lowers, held out).
        var heldOut = options
        heldOut.seed = 99
        let test = SourceMaskTrainer.makeMixtures(signals: [[DenoiserTests.voiced(seconds: 20, seed: 31)], [randomSignal(count: 10 * Self.rate, seed: 32, amplitude: 0.1)]],
                                                  options: heldOut, sampleRate: Self.rate)
        let spectra = try SourceMaskTrainer.spectrograms(test, dictionary: speech)
        let h = withBases.activations(spectra.v)
        var state = SeparationState(v: spectra.v, targets: spectra.targets, power: options.run.maskPower,
                                    activations: [h.rows(0..<speech.rank), h.rows(speech.rank..<h.rows)])
        let plain = state.cost([speech.atoms, noise.atoms])
        let better = state.cost(reread.map { $0.separationBases!.bases })
        #expect(better < plain, "held-out cost with the atoms \(plain), with trained bases \(better)")
    }

    /// Each bad setup is refused with its own message.
    @Test func badSetupsAreRefused() throws {
        let d = Self.dictionaries
        func message(_ body: () throws -> Void) -> String? {
            do { try body(); return nil } catch { return (error as? DenoiseError)?.description }
        }
        #expect(message { _ = try Separator(sources: [Separator.Source(name: "a", dictionary: d.tones)]) }?.contains("at least two sources") == true)
        #expect(message {
            _ = try Separator(sources: [Separator.Source(name: "a", dictionary: d.tones), Separator.Source(name: "a", dictionary: d.band)])
        }?.contains("given twice") == true)
        #expect(message {
            _ = try Separator(sources: [Separator.Source(name: "a/b", dictionary: d.tones), Separator.Source(name: "c", dictionary: d.band)])
        }?.contains("letters, digits") == true)
        var faster = d.band
        faster.sampleRate = 16000
        #expect(message {
            _ = try Separator(sources: [Separator.Source(name: "a", dictionary: d.tones), Separator.Source(name: "b", dictionary: faster)])
        }?.contains("disagree on sample_rate") == true)
    }
}
