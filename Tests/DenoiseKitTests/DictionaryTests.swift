import Foundation
import Testing
@testable import DenoiseKit

@Suite struct DictionaryTests {
    static func sample(kind: SpectralDictionary.Kind = .noise, nFFT: Int = 64, rank: Int = 3) -> SpectralDictionary {
        var atoms = randomMatrix(rows: nFFT / 2 + 1, cols: rank, seed: 4)
        normalizeColumns(&atoms)
        return SpectralDictionary(atoms: atoms, kind: kind, sampleRate: 16000, stft: STFTConfiguration(nFFT: nFFT, hop: nFFT / 4),
                                  beta: 1, iterations: 10, extraMetadata: ["source": "test"])
    }

    @Test func roundTripsThroughTheFile() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = Self.sample()
        let path = dir.appendingPathComponent("d.safetensors").path
        try d.write(to: path)
        var back = try SpectralDictionary.load(path)
        #expect(back.origin == path)
        back.origin = nil
        #expect(back == d)
    }

    @Test func fileLayoutIsSafetensors() throws {
        let d = Self.sample(nFFT: 16, rank: 2)
        let bytes = [UInt8](d.encoded())
        let headerLength = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        #expect((8 + headerLength) % 8 == 0)
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as! [String: Any]
        let w = header["W"] as! [String: Any]
        #expect(w["dtype"] as? String == "F32")
        #expect(w["shape"] as? [Int] == [9, 2])
        #expect(w["data_offsets"] as? [Int] == [0, 72])
        let meta = header["__metadata__"] as! [String: String]
        for key in ["format", "version", "kind", "sample_rate", "n_fft", "hop", "window", "beta", "rank", "sparsity", "iterations"] {
            #expect(meta[key] != nil, "missing metadata \(key)")
        }
        // Row-major: the second float of the data is W[0, 1].
        let o = 8 + headerLength + 4
        let second = Float(bitPattern: UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24)
        #expect(second == d.atoms[0, 1])
        #expect(bytes.count == 8 + headerLength + 72)
    }

    /// Mask bases are kept and stored at bfloat16 precision (ties to even) and read back equal; files
    /// with F32 mask bases, as written before, are still read.
    @Test func maskBasesAreStoredInBFloat16AndF32IsStillRead() throws {
        #expect(bfloat16Bits(1) == 0x3F80)
        #expect(bfloat16Bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // a tie stays even
        #expect(bfloat16Bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // a tie from odd goes up
        #expect(bfloat16Bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        var d = Self.sample()
        let bins = d.atoms.rows
        let noise = randomMatrix(rows: bins, cols: 3, seed: 5), speech = randomMatrix(rows: bins, cols: 4, seed: 6)
        d.maskBases = .init(noise: noise, speech: speech, speechFingerprint: "f")
        #expect(d.maskBases!.noise.storage.allSatisfy { $0.bitPattern & 0xFFFF == 0 })
        #expect(zip(d.maskBases!.noise.storage, noise.storage).allSatisfy { abs($0 - $1) <= $1 / 256 })
        var back = try SpectralDictionary.decode(d.encoded())
        back.origin = nil
        #expect(back == d)
        #expect(d.encoded().count < 8 + 4 * bins * 3 + 2 * bins * 7 + 1000)

        // The same dictionary with every tensor in F32, written by hand.
        var header: [String: Any] = ["__metadata__": d.metadata]
        var payload: [Float] = [], offset = 0
        for (name, m) in [("W", d.atoms), ("W_mask", noise), ("W_mask_speech", speech)] {
            header[name] = ["dtype": "F32", "shape": [m.rows, m.cols], "data_offsets": [offset, offset + 4 * m.count]] as [String: Any]
            offset += 4 * m.count
            payload += m.transposed().storage
        }
        let json = try JSONSerialization.data(withJSONObject: header)
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        payload.map { $0.bitPattern.littleEndian }.withUnsafeBytes { file.append(contentsOf: $0) }
        var old = try SpectralDictionary.decode(file)
        old.origin = nil
        #expect(old == d)
    }

    /// Solve layers round-trip in BF16; a layer count that does not fit the tensor is refused.
    @Test func solveLayersRoundTripAndAreChecked() throws {
        var d = Self.sample()
        let bins = d.atoms.rows, rank = d.rank
        let layers = randomMatrix(rows: 20, cols: 2 * (4 + rank), seed: 7, range: 0.01...1)
        d.maskBases = .init(noise: randomMatrix(rows: bins, cols: rank, seed: 5), speech: randomMatrix(rows: bins, cols: 4, seed: 6),
                            speechFingerprint: "f", layers: layers)
        #expect(d.maskBases!.layerCount == 2 && d.metadata["solve_layers"] == "2")
        #expect(zip(d.maskBases!.layers!.storage, layers.storage).allSatisfy { abs($0 - $1) <= $1 / 256 })
        var back = try SpectralDictionary.decode(d.encoded())
        back.origin = nil
        #expect(back == d)
        let wrong = Self.withHeader(d) { h in
            var m = h["__metadata__"] as! [String: String]; m["solve_layers"] = "3"; h["__metadata__"] = m
        }
        #expect(throws: DenoiseError.self) { try SpectralDictionary.decode(wrong) }
        do { _ = try SpectralDictionary.decode(wrong, path: "x") } catch {
            #expect(error.description == "invalid dictionary 'x': tensor W_layers has \(2 * (4 + rank)) columns, expected \(4 + rank) (speech rank + rank) × metadata 'solve_layers'")
        }
    }

    static func withHeader(_ d: SpectralDictionary, _ edit: (inout [String: Any]) -> Void) -> Data {
        let bytes = [UInt8](d.encoded())
        let n = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        var header = try! JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as! [String: Any]
        edit(&header)
        let json = try! JSONSerialization.data(withJSONObject: header)
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(contentsOf: bytes[(8 + n)...])
        return out
    }

    @Test func rejectsMalformedFiles() {
        let d = Self.sample()
        let good = d.encoded()
        func reason(_ data: Data) -> String? {
            do { _ = try SpectralDictionary.decode(data, path: "x"); return nil } catch { return error.description }
        }
        #expect(reason(good) == nil)
        #expect(reason(Data([1, 2, 3]))?.contains("too short") == true)
        #expect(reason(good.prefix(good.count - 5))?.contains("truncated") == true)
        #expect(reason(good.prefix(40))?.contains("truncated") == true)
        var badJSON = good
        badJSON[9] = UInt8(ascii: "!")
        #expect(reason(badJSON) == "invalid dictionary 'x': the header is not valid JSON")
        #expect(reason(Self.withHeader(d) { h in
            var w = h["W"] as! [String: Any]; w["dtype"] = "F64"; h["W"] = w
        }) == "invalid dictionary 'x': tensor W has dtype F64, expected F32 or BF16")
        #expect(reason(Self.withHeader(d) { h in
            var w = h["W"] as! [String: Any]; w["shape"] = [32, 3]; h["W"] = w
        })?.contains("does not match its data offsets") == true)
        #expect(reason(Self.withHeader(d) { h in
            var m = h["__metadata__"] as! [String: String]; m["n_fft"] = "128"; h["__metadata__"] = m
        }) == "invalid dictionary 'x': tensor W has 33 rows but n_fft 128 needs 65")
        #expect(reason(Self.withHeader(d) { h in
            var m = h["__metadata__"] as! [String: String]; m["kind"] = "music"; h["__metadata__"] = m
        }) == "invalid dictionary 'x': metadata 'kind' is 'music', expected 'speech' or 'noise'")
        #expect(reason(Self.withHeader(d) { h in h.removeValue(forKey: "__metadata__") })?.contains("__metadata__") == true)
    }

    @Test func incompatibleDictionariesAreRefusedNamingBothValues() {
        var a = Self.sample(kind: .speech, nFFT: 64), b = Self.sample(kind: .noise, nFFT: 128)
        a.origin = "a.safetensors"; b.origin = "b.safetensors"
        #expect(throws: DenoiseError.incompatible("dictionaries disagree on n_fft: speech dictionary 'a.safetensors' has 64, noise dictionary 'b.safetensors' has 128")) {
            try Denoiser(speech: a, noise: [b])
        }
    }
}
