import Foundation
import Testing
@testable import DenoiseKit

/// `--noise auto`: the dictionary of the noise actually present is chosen, and the general model
/// when no specific one fits better.
@Suite struct NoiseSelectionTests {
    static let rate = DenoiserTests.rate

    /// A hum at 120 Hz and its harmonics, slowly wavering in level.
    static func hum(count: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        let phase = Double(rng.nextUnitFloat()) * 2 * .pi
        return (0..<count).map { i in
            let t = Double(i) / Double(rate)
            let level = 0.8 + 0.2 * sin(2 * .pi * 0.5 * t + phase)
            return Float(0.1 * level * (sin(2 * .pi * 120 * t) + 0.5 * sin(2 * .pi * 240 * t) + 0.3 * sin(2 * .pi * 360 * t)))
        }
    }

    @Test func choosesTheDictionaryOfTheNoisePresent() throws {
        let (speech, white) = DenoiserTests.dictionaries
        let hum = try DenoiserTests.dictionary(Self.hum(count: 5 * Self.rate, seed: 1), kind: .noise, rank: 2)
        let clean = DenoiserTests.voiced(seconds: 3, seed: 30)
        let withHum = zip(clean, Self.hum(count: clean.count, seed: 2)).map { $0 + $1 }
        let withHiss = zip(clean, randomSignal(count: clean.count, seed: 3, amplitude: 0.1)).map { $0 + $1 }
        let options = DenoiserOptions(iterations: 30, threads: 1, bands: 0)
        let a = try NoiseSelection.choose(withHum, speech: speech, candidates: [white, hum], options: options)
        #expect(a.index == 1, "costs \(a.costs)")
        let b = try NoiseSelection.choose(withHiss, speech: speech, candidates: [white, hum], options: options)
        #expect(b.index == 0, "costs \(b.costs)")
        // A specific dictionary must fit strictly better than the general one (candidate 0).
        let c = try NoiseSelection.choose(withHiss, speech: speech, candidates: [white, white], options: options)
        #expect(c.index == 0 && c.costs[0] == c.costs[1])
    }

    @Test func refusesIncompatibleCandidates() throws {
        let (speech, white) = DenoiserTests.dictionaries
        var other = white
        other.sampleRate = 16000
        #expect(throws: DenoiseError.self) {
            try NoiseSelection.choose([Float](repeating: 0, count: 1000), speech: speech, candidates: [white, other])
        }
    }
}
