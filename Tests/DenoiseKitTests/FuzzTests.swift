import Foundation
import Testing
@testable import DenoiseKit

/// Seeded random damage to valid files: every variant must load or throw a `DenoiseError`, never crash.
@Suite struct FuzzTests {
    /// `count` variants of `data`: bytes flipped, overwritten, cut off or inserted.
    static func mutations(of data: [UInt8], count: Int, seed: UInt64) -> [[UInt8]] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            var d = data
            let edits = 1 + Int(rng.next() % 4)
            for _ in 0..<edits {
                guard !d.isEmpty else { break }
                // Damage the header (first 256 bytes) more often than the data.
                let hot = rng.next() % 3 != 0
                let i = Int(rng.next() % UInt64(hot ? min(256, d.count) : d.count))
                switch rng.next() % 5 {
                case 0: d[i] ^= UInt8(1 << (rng.next() % 8))
                case 1: d[i] = UInt8(truncatingIfNeeded: rng.next())
                case 2: d.removeSubrange(i...)
                case 3: d.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                default: d[i] = [0x00, 0xFF, 0x7F, 0x80, UInt8(ascii: "\""), UInt8(ascii: "9")][Int(rng.next() % 6)]
                }
            }
            return d
        }
    }

    @Test func damagedDictionariesLoadOrFailCleanly() {
        var atoms = randomMatrix(rows: 33, cols: 4, seed: 1)
        normalizeColumns(&atoms)
        let valid = SpectralDictionary(atoms: atoms, kind: .speech, sampleRate: 16000,
                                       stft: STFTConfiguration(nFFT: 64, hop: 16), beta: 1, iterations: 5)
        var loaded = 0, refused = 0
        for bytes in Self.mutations(of: [UInt8](valid.encoded()), count: 400, seed: 7) {
            do {
                let d = try SpectralDictionary.decode(Data(bytes), path: "fuzz")
                #expect(d.atoms.storage.allSatisfy { $0.isFinite && $0 >= 0 })
                loaded += 1
            } catch {
                #expect(error.description.hasPrefix("invalid dictionary 'fuzz': "))
                #expect(!error.description.contains("\n"))
                refused += 1
            }
        }
        #expect(loaded + refused == 400 && refused > 100)
    }

    @Test func damagedWAVFilesReadOrFailCleanly() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("valid.wav").path
        try AudioFile.write(AudioBuffer(sampleRate: 16000, channels: [randomSignal(count: 2000, seed: 1), randomSignal(count: 2000, seed: 2)]), to: source)
        let valid = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
        let path = dir.appendingPathComponent("fuzz.wav").path
        var read = 0, refused = 0
        for bytes in Self.mutations(of: valid, count: 300, seed: 11) {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                let (audio, _) = try AudioFile.read(path)
                #expect(audio.channels.allSatisfy { $0.allSatisfy { $0.isFinite } })
                read += 1
            } catch {
                #expect(error.description.hasPrefix("cannot read '\(path)': "))
                refused += 1
            }
        }
        #expect(read + refused == 300)
    }
}
