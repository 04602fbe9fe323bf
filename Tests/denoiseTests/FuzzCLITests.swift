import DenoiseKit
import Foundation
import Testing

/// Seeded damage to the header fields that say how much there is (lengths, rates, channels,
/// shapes, offsets) and to random bytes of WAV, FLAC and dictionary files, each run through the
/// release-like binary in a subprocess with its memory limited. Whatever the damage: an exit
/// status of 0, 1 or 64 (never a signal), errors of one line, nothing left behind on failure and
/// finite audio on success.
@Suite struct FuzzCLITests {
    static let interesting: [UInt64] = [0, 1, 2, 3, 7, 8, 16, 255, 256, 999, 1000, 8000, 44100, 65535, 65536,
                                        1 << 20, 0x7FFF_FFFF, 0xFFFF_FFFF, (1 << 35) - 1, (1 << 36) - 1]

    /// `bytes` with the little-endian field of `width` bytes at `offset` set to `value`.
    static func setLE(_ bytes: inout [UInt8], _ offset: Int, _ width: Int, _ value: UInt64) {
        for i in 0..<width where offset + i < bytes.count { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    /// `bytes` with `bits` bits starting `bitOffset` bits into the big-endian field at `offset` set to `value`.
    static func setBitsBE(_ bytes: inout [UInt8], byte offset: Int, bitOffset: Int, bits: Int, _ value: UInt64) {
        for b in 0..<bits {
            let bit = bitOffset + b, i = offset + bit / 8, mask = UInt8(0x80 >> (bit % 8))
            guard i < bytes.count else { return }
            if value >> UInt64(bits - 1 - b) & 1 == 1 { bytes[i] |= mask } else { bytes[i] &= ~mask }
        }
    }

    /// Flips, overwrites, cuts or inserts one to three bytes, mostly in the first 128.
    static func damageBytes(_ bytes: inout [UInt8], _ rng: inout SeededGenerator) {
        for _ in 0..<(1 + Int(rng.next() % 3)) {
            guard !bytes.isEmpty else { return }
            let i = Int(rng.next() % UInt64(rng.next() % 4 != 0 ? min(128, bytes.count) : bytes.count))
            switch rng.next() % 4 {
            case 0: bytes[i] ^= UInt8(1 << (rng.next() % 8))
            case 1: bytes[i] = UInt8(truncatingIfNeeded: rng.next())
            case 2: bytes.removeSubrange(i...)
            default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
            }
        }
    }

    static func value(_ rng: inout SeededGenerator) -> UInt64 {
        rng.next() % 4 == 0 ? rng.next() : interesting[Int(rng.next() % UInt64(interesting.count))]
    }

    /// WAV fields: RIFF size, fmt size, format tag, channels, rate, byte rate, block align, bits, data size.
    static func mutatedWAV(_ base: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        var d = base
        let fields = [(4, 4), (16, 4), (20, 2), (22, 2), (24, 4), (28, 4), (32, 2), (34, 2), (40, 4)]
        for _ in 0..<(1 + Int(rng.next() % 2)) {
            let (offset, width) = fields[Int(rng.next() % UInt64(fields.count))]
            setLE(&d, offset, width, value(&rng))
        }
        if rng.next() % 3 == 0 { damageBytes(&d, &rng) }
        return d
    }

    /// FLAC STREAMINFO fields: block length, block sizes, rate (20 bits), channels (3), bits (5),
    /// total samples (36).
    static func mutatedFLAC(_ base: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        var d = base
        for _ in 0..<(1 + Int(rng.next() % 2)) {
            let v = value(&rng)
            switch rng.next() % 6 {
            case 0: setBitsBE(&d, byte: 5, bitOffset: 0, bits: 24, v)
            case 1: setBitsBE(&d, byte: 8, bitOffset: 0, bits: 32, v)
            case 2: setBitsBE(&d, byte: 18, bitOffset: 0, bits: 20, v)
            case 3: setBitsBE(&d, byte: 18, bitOffset: 20, bits: 3, v)
            case 4: setBitsBE(&d, byte: 18, bitOffset: 23, bits: 5, v)
            default: setBitsBE(&d, byte: 18, bitOffset: 28, bits: 36, v)
            }
        }
        if rng.next() % 3 == 0 { damageBytes(&d, &rng) }
        return d
    }

    /// A number of the dictionary's JSON header (shapes, offsets, n_fft, hop, sample_rate, beta,
    /// rank, …) replaced by another, the header length kept true, so that the values themselves
    /// are what is tested; sometimes bytes are damaged too.
    static func mutatedDictionary(_ base: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        var n = 0
        for i in 0..<8 { n |= Int(base[i]) << (8 * i) }
        var header = String(decoding: base[8..<(8 + n)], as: UTF8.self)
        let numbers = header.ranges(of: /-?[0-9]+(\.[0-9]+)?/)
        if let range = numbers.isEmpty ? nil : numbers[Int(rng.next() % UInt64(numbers.count))] {
            let replacement = rng.next() % 5 == 0 ? ["-1", "2.5", "1e30", "nan", "0.0"][Int(rng.next() % 5)] : String(value(&rng))
            header.replaceSubrange(range, with: replacement)
        }
        var d = [UInt8](repeating: 0, count: 8)
        setLE(&d, 0, 8, UInt64(header.utf8.count))
        d += Array(header.utf8) + base[(8 + n)...]
        if rng.next() % 3 == 0 { damageBytes(&d, &rng) }
        return d
    }

    /// Runs `arguments` with memory limited and checks what every run must satisfy; `output` is
    /// the file a success writes (checked when it is audio, then removed).
    static func check(_ arguments: [String], output: String?, isAudio: Bool = true, in s: Scratch, case name: String) throws {
        let before = s.listing
        let r = try denoiseWithMemoryLimit(arguments)
        #expect(r.exitedNormally && [0, 1, 64].contains(r.status), "\(name): \(r.exitedNormally ? "status \(r.status)" : "signal \(r.status)") \(r.stderr)")
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.allSatisfy { $0.hasPrefix("denoise: ") }, "\(name): \(r.stderr)")
        if r.status == 0 {
            if let output {
                if isAudio {
                    let audio = try AudioFile.read(output).0
                    #expect(audio.channels.allSatisfy { $0.allSatisfy(\.isFinite) }, "\(name): non-finite output")
                }
                try FileManager.default.removeItem(atPath: output)
            }
        } else {
            #expect(lines.last?.hasPrefix("denoise: error: ") == true && lines.filter { $0.hasPrefix("denoise: error: ") }.count == 1,
                    "\(name): \(r.stderr)")
        }
        #expect(s.listing == before, "\(name): files left: \(Set(s.listing).symmetricDifference(before))")
    }

    @Test func damagedHeadersNeverCrashOrLeaveFiles() throws {
        let s = try Scratch()
        defer { s.remove() }
        let tone = (0..<8000).map { Float(0.3 * sin(Double($0) * 0.05)) }
        let wav = wavBytes(tone)
        let flacPath = s.path("base.flac")
        try AudioFile.write(AudioBuffer(sampleRate: 16000, mono: tone), to: flacPath)
        let flac = [UInt8](try Data(contentsOf: URL(fileURLWithPath: flacPath)))
        try FileManager.default.removeItem(atPath: flacPath)
        let dictionary = [UInt8](try Data(contentsOf: URL(fileURLWithPath: s.noise)))
        let out = s.path("out.wav")
        var rng = SeededGenerator(seed: 15)
        for k in 0..<100 {
            let w = try s.write(Data(Self.mutatedWAV(wav, &rng)), to: "m.wav")
            try Self.check(["run", w, "-o", out, "--speech", s.speech, "--noise", s.noise], output: out, in: s, case: "wav \(k)")
            if k % 5 == 0 { try Self.check(["eval", s.input, w], output: nil, in: s, case: "eval wav \(k)") }
            let f = try s.write(Data(Self.mutatedFLAC(flac, &rng)), to: "m.flac")
            try Self.check(["run", f, "-o", out, "--speech", s.speech, "--noise", s.noise], output: out, in: s, case: "flac \(k)")
            if k % 5 == 0 {
                try Self.check(["train-noise", f, "-o", s.path("t.safetensors"), "--rank", "2", "--iterations", "5", "-q"],
                          output: s.path("t.safetensors"), isAudio: false, in: s, case: "train flac \(k)")
            }
            let d = try s.write(Data(Self.mutatedDictionary(dictionary, &rng)), to: "m.safetensors")
            try Self.check(["run", s.input, "-o", out, "--speech", s.speech, "--noise", d], output: out, in: s, case: "dictionary \(k)")
            if k % 5 == 0 { try Self.check(["inspect", d], output: nil, in: s, case: "inspect \(k)") }
        }
    }
}
