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

    /// Mask bases are kept and stored in F16 with power-of-two row scales (a dtype numpy reads) and
    /// read back equal, tiny rows included; files with F32 mask bases, and with the BF16 ones written
    /// before, are still read.
    @Test func maskBasesAreStoredInScaledF16AndF32AndBF16AreStillRead() throws {
        var d = Self.sample()
        let bins = d.atoms.rows
        var noise = randomMatrix(rows: bins, cols: 3, seed: 5)
        for c in 0..<3 { noise[7, c] *= 1e-12 }  // a row far below F16's range unscaled
        let speech = randomMatrix(rows: bins, cols: 4, seed: 6)
        d.maskBases = .init(noise: noise, speech: speech, speechFingerprint: "f")
        #expect(zip(d.maskBases!.noise.storage, noise.storage).allSatisfy { abs($0 - $1) <= $1 / 2048 || $1 < 1e-4 })
        #expect((0..<3).allSatisfy { abs(d.maskBases!.noise[7, $0] - noise[7, $0]) <= noise[7, $0] / 2048 })
        var back = try SpectralDictionary.decode(d.encoded())
        back.origin = nil
        #expect(back == d)
        #expect(d.encoded().count < 8 + 4 * bins * 3 + 2 * bins * 7 + 8 * bins + 1000)
        let header = String(decoding: d.encoded(), as: UTF8.self)
        #expect(header.contains("\"W_mask\":{\"data_offsets\"") && header.contains("\"dtype\":\"F16\"") && header.contains("W_mask_scale"))

        // The same dictionary with the mask bases in F32, then in BF16 (the high half of a float), written by hand.
        for dtype in ["F32", "BF16"] {
            var header: [String: Any] = ["__metadata__": d.metadata]
            var payload = Data(), offset = 0
            for (name, m) in [("W", d.atoms), ("W_mask", noise), ("W_mask_speech", speech)] {
                let half = name != "W" && dtype == "BF16"
                let size = (half ? 2 : 4) * m.count
                header[name] = ["dtype": half ? "BF16" : "F32", "shape": [m.rows, m.cols], "data_offsets": [offset, offset + size]] as [String: Any]
                offset += size
                let rowMajor = m.transposed().storage
                if half {
                    rowMajor.map { UInt16($0.bitPattern >> 16).littleEndian }.withUnsafeBytes { payload.append(contentsOf: $0) }
                } else {
                    rowMajor.map { $0.bitPattern.littleEndian }.withUnsafeBytes { payload.append(contentsOf: $0) }
                }
            }
            let json = try JSONSerialization.data(withJSONObject: header)
            var file = Data()
            withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
            file.append(json)
            file.append(payload)
            var old = try SpectralDictionary.decode(file)
            old.origin = nil
            if dtype == "F32" {
                #expect(old == d)
            } else {
                func truncated(_ m: Matrix) -> Matrix { Matrix(rows: m.rows, cols: m.cols, storage: m.storage.map { Float(bitPattern: $0.bitPattern & 0xFFFF_0000) }) }
                #expect(old.maskBases == .init(noise: truncated(noise), speech: truncated(speech), speechFingerprint: "f"))
            }
        }
    }

    /// Solve layers round-trip in scaled F16; a layer count that does not fit the tensor is refused.
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
        }) == "invalid dictionary 'x': tensor W has dtype F64, expected F32, F16 or BF16")
        #expect(reason(Self.withHeader(d) { h in
            var w = h["W"] as! [String: Any]; w["shape"] = [32, 3]; h["W"] = w
        })?.contains("does not match its data offsets") == true)
        #expect(reason(Self.withHeader(d) { h in
            var m = h["__metadata__"] as! [String: String]; m["n_fft"] = "128"; h["__metadata__"] = m
        }) == "invalid dictionary 'x': tensor W has 33 rows but n_fft 128 needs 65")
        #expect(reason(Self.withHeader(d) { h in
            var m = h["__metadata__"] as! [String: String]; m["kind"] = "mu sic"; h["__metadata__"] = m
        }) == "invalid dictionary 'x': metadata 'kind' is 'mu sic', expected a name such as 'speech', 'noise' or 'music'")
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
