import Foundation

/// A learned set of spectral atoms W [bins × rank] with the analysis settings it was learned under.
///
/// Stored as a safetensors file: an 8-byte little-endian header length, a JSON header, then raw
/// little-endian data. One tensor `W`, dtype F32, shape [bins, rank] in row-major order, and
/// `__metadata__` strings (see `metadata`). Python reads it with `safetensors.numpy.load_file`.
///
/// A noise dictionary may also carry discriminatively trained reconstruction bases for the mask
/// (`W_mask` [bins, rank·context frames] and `W_mask_speech` [bins, speech rank·context frames]) and
/// solve layers (`W_layers` [solve bands, (speech rank + rank)·layers]), F16 with row scales, valid together with the speech
/// dictionary whose fingerprint is stored in `mask_speech_fingerprint`. A dictionary of any kind may
/// carry separation bases (`W_separation` [bins, rank], F16 with row scales) for `Separator`, valid
/// with the set of dictionaries whose fingerprints `separation_set` lists.
public struct SpectralDictionary: Sendable, Equatable {
    /// What the atoms model: `speech`, `noise`, or any other source a user trains (`music`, `hum`,
    /// a particular voice): a name of 1 to 64 letters, digits, '_' or '-'.
    public struct Kind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init?(rawValue: String) {
            guard Self.isName(rawValue) else { return nil }
            self.rawValue = rawValue
        }
        public static let speech = Kind(rawValue: "speech")!, noise = Kind(rawValue: "noise")!
        public var description: String { rawValue }

        /// 1 to 64 ASCII letters, digits, '_' or '-': safe in file names and metadata.
        public static func isName(_ s: String) -> Bool {
            (1...64).contains(s.utf8.count) && s.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x2d
            }
        }
    }

    public static let formatName = "denoise-dictionary"
    public static let formatVersion = 1

    /// [bins × rank], one atom per column, columns of unit Euclidean norm.
    public var atoms: Matrix
    public var kind: Kind
    public var sampleRate: Int
    public var stft: STFTConfiguration
    /// The spectrogram is |X|^spectrumExponent (1: magnitude).
    public var spectrumExponent: Float
    /// NMF settings the atoms were trained with.
    public var beta: Float
    public var sparsity: Float
    public var iterations: Int
    /// Free-form provenance (e.g. "source", "training_cost"), stored with the standard keys.
    public var extraMetadata: [String: String]
    /// Where it was loaded from (for messages); not stored in the file.
    public var origin: String?
    /// Discriminative reconstruction bases for the mask: this dictionary's own [bins × rank] and the
    /// speech dictionary's [bins × speech rank], trained together with that speech dictionary.
    public var maskBases: MaskBases?

    /// Reconstruction bases for separating a given set of sources (`SourceMaskTrainer`), valid only
    /// together with exactly the dictionaries they were trained with.
    public var separationBases: SeparationBases?

    public struct SeparationBases: Sendable, Equatable {
        /// [bins × rank]: what this source's mask estimate is built from, in place of the atoms.
        public var bases: Matrix
        /// The `fingerprint`s of every dictionary of the set (this one included), sorted.
        public var set: [String]

        /// Kept at the precision the file stores them in, as `MaskBases` are.
        public init(bases: Matrix, set: [String]) {
            self.bases = bases.roundedToHalfPrecision()
            self.set = set.sorted()
        }
    }

    public struct MaskBases: Sendable, Equatable {
        /// [bins × rank·frames]: one block of columns per context frame, oldest first.
        public var noise: Matrix
        /// [bins × speech rank·frames], blocks as in `noise`.
        public var speech: Matrix
        /// `SpectralDictionary.fingerprint` of the speech dictionary they were trained with.
        public var speechFingerprint: String
        /// The frames whose activations build frame t's mask: t − past … t + future.
        public var context: MaskContext
        /// Atoms of the activation solve's last iterations, trained together with the bases (deep NMF,
        /// see `UnfoldedLayers`), on the solve's frequency axis (its bands): [solve bins × (speech rank
        /// + rank)·layers], one block per iteration, speech atoms first. nil: every iteration uses the
        /// dictionaries' own atoms.
        public var layers: Matrix?
        /// Layers of `layers`: each has a column per speech atom and per atom of this dictionary.
        public var layerCount: Int { layers.map { $0.cols / ((speech.cols + noise.cols) / context.frames) } ?? 0 }

        /// The bases are kept at the precision the file stores them in (`Matrix.halfPrecision`), so a
        /// dictionary equals what its file reads back.
        public init(noise: Matrix, speech: Matrix, speechFingerprint: String, context: MaskContext = MaskContext(),
                    layers: Matrix? = nil) {
            self.noise = noise.roundedToHalfPrecision()
            self.speech = speech.roundedToHalfPrecision()
            self.speechFingerprint = speechFingerprint
            self.context = context
            self.layers = layers?.roundedToHalfPrecision()
        }

    }

    /// FNV-1a hash of the atoms: identifies a dictionary's content.
    public var fingerprint: String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for x in atoms.storage {
            var bits = x.bitPattern
            for _ in 0..<4 { h = (h ^ UInt64(bits & 0xff)) &* 0x100_0000_01b3; bits >>= 8 }
        }
        return String(h, radix: 16)
    }

    /// The same atoms without discriminative mask bases and solve layers: what a fit of the atoms
    /// alone (noise choice, adaptation, training) uses.
    public var withoutMaskBases: SpectralDictionary {
        var d = self
        d.maskBases = nil
        return d
    }

    public var rank: Int { atoms.cols }
    public var bins: Int { atoms.rows }

    public init(atoms: Matrix, kind: Kind, sampleRate: Int, stft: STFTConfiguration, spectrumExponent: Float = 1,
                beta: Float, sparsity: Float = 0, iterations: Int, extraMetadata: [String: String] = [:],
                origin: String? = nil, maskBases: MaskBases? = nil) {
        self.atoms = atoms
        self.kind = kind
        self.sampleRate = sampleRate
        self.stft = stft
        self.spectrumExponent = spectrumExponent
        self.beta = beta
        self.sparsity = sparsity
        self.iterations = iterations
        self.extraMetadata = extraMetadata
        self.origin = origin
        self.maskBases = maskBases
    }

    /// Every `__metadata__` entry the file carries.
    public var metadata: [String: String] {
        var m = extraMetadata
        m["format"] = Self.formatName
        m["version"] = String(Self.formatVersion)
        m["kind"] = kind.rawValue
        m["sample_rate"] = String(sampleRate)
        m["n_fft"] = String(stft.nFFT)
        m["hop"] = String(stft.hop)
        m["window"] = "hann"
        m["spectrum_exponent"] = String(spectrumExponent)
        m["beta"] = String(beta)
        m["rank"] = String(rank)
        m["sparsity"] = String(sparsity)
        m["iterations"] = String(iterations)
        if let separationBases { m["separation_set"] = separationBases.set.joined(separator: ",") }
        if let maskBases {
            m["mask_speech_fingerprint"] = maskBases.speechFingerprint
            if maskBases.context != MaskContext() {
                m["mask_context_past"] = String(maskBases.context.past)
                m["mask_context_future"] = String(maskBases.context.future)
            }
            if maskBases.layers != nil { m["solve_layers"] = String(maskBases.layerCount) }
        }
        return m
    }

    // MARK: - Writing

    /// The tensors stored, by name, with their element type: the atoms in F32 (the fingerprint is
    /// taken on them); the mask bases and solve layers in F16, each row divided by the power of two
    /// `NAME_scale` [rows, 1] (F32) holds (see `Matrix.halfPrecision`).
    var tensors: [(name: String, matrix: Matrix, half: Bool)] {
        let halves = [("W_mask", maskBases?.noise), ("W_mask_speech", maskBases?.speech), ("W_layers", maskBases?.layers),
                      ("W_separation", separationBases?.bases)]
        var t = [("W", atoms, false)]
        for case let (name, m?) in halves {
            let (values, scale) = m.halfPrecision()
            t += [(name, values, true), (name + "_scale", scale, false)]
        }
        return t
    }

    /// The file's bytes.
    public func encoded() -> Data { Safetensors.encode(metadata: metadata, tensors: tensors) }

    /// Writes the file atomically (temporary file, then rename; a device is written in place).
    public func write(to path: String) throws(DenoiseError) {
        let bytes = encoded()
        try AtomicOutput.write(to: path) { (destination, _) throws(DenoiseError) in
            do { try bytes.write(to: URL(fileURLWithPath: destination)) } catch {
                throw .unwritableOutput(path: path, reason: (error as NSError).localizedDescription)
            }
        }
    }

    // MARK: - Reading

    public static func load(_ path: String) throws(DenoiseError) -> SpectralDictionary {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .invalidDictionary(path: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else { throw .invalidDictionary(path: path, reason: "it is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidDictionary(path: path, reason: "the file cannot be read")
        }
        return try decode(data, path: path)
    }

    /// Parses a dictionary file's bytes; `path` only names the file in errors.
    public static func decode(_ data: Data, path: String = "<data>") throws(DenoiseError) -> SpectralDictionary {
        func fail(_ reason: String) -> DenoiseError { .invalidDictionary(path: path, reason: reason) }
        let file = try Safetensors(data, path: path)
        let metadata = file.metadata
        guard metadata["format"] == formatName else {
            throw fail("metadata format is '\(metadata["format"] ?? "missing")', expected '\(formatName)'")
        }
        if let v = metadata["version"] {
            guard let n = Int(v), n >= 1 else { throw fail("metadata 'version' = '\(v)' is not a positive integer") }
            if n > formatVersion { throw fail("format version \(n) is newer than this program reads (\(formatVersion))") }
        }
        func matrix(_ name: String, rows: Int? = nil) throws(DenoiseError) -> Matrix { try file.matrix(name, rows: rows) }
        let atoms = try matrix("W")
        let bins = atoms.rows

        func int(_ key: String) throws(DenoiseError) -> Int {
            guard let s = metadata[key], let v = Int(s) else { throw fail("metadata '\(key)' is missing or not an integer") }
            return v
        }
        func float(_ key: String, default d: Float? = nil) throws(DenoiseError) -> Float {
            guard let s = metadata[key] else {
                if let d { return d }
                throw fail("metadata '\(key)' is missing")
            }
            guard let v = Float(s), v.isFinite else { throw fail("metadata '\(key)' = '\(s)' is not a number") }
            return v
        }
        guard let kindName = metadata["kind"], let kind = Kind(rawValue: kindName) else {
            throw fail("metadata 'kind' is '\(metadata["kind"] ?? "missing")', expected a name such as 'speech', 'noise' or 'music'")
        }
        if let w = metadata["window"], w != "hann" { throw fail("window '\(w)' is not supported (only 'hann')") }
        let stft = STFTConfiguration(nFFT: try int("n_fft"), hop: try int("hop"))
        do { try stft.validate() } catch { throw fail(error.description) }
        guard stft.bins == bins else { throw fail("tensor W has \(bins) rows but n_fft \(stft.nFFT) needs \(stft.bins)") }
        let sampleRate = try int("sample_rate")
        guard (1000...768_000).contains(sampleRate) else { throw fail("sample_rate \(sampleRate) is out of range") }
        let exponent = try float("spectrum_exponent", default: 1)
        guard exponent > 0, exponent <= 4 else { throw fail("spectrum_exponent \(exponent) is out of range") }
        // Every value the run takes from the file is checked here, so that a bad one is named with
        // the file rather than trapping later (β outside [0, 2] has no update rule).
        let beta = try float("beta", default: 1)
        guard (0...2).contains(beta) else { throw fail("metadata 'beta' = \(beta) is outside [0, 2]") }
        let sparsity = try float("sparsity", default: 0)
        guard sparsity >= 0 else { throw fail("metadata 'sparsity' = \(sparsity) is negative") }
        let iterations = metadata["iterations"] == nil ? 0 : try int("iterations")
        guard iterations >= 0 else { throw fail("metadata 'iterations' = \(iterations) is negative") }
        if metadata["rank"] != nil, try int("rank") != atoms.cols {
            throw fail("metadata 'rank' = \(metadata["rank"]!) but tensor W has \(atoms.cols) atoms")
        }

        let maskBases = try decodeMaskBases(file, kind: kind, rank: atoms.cols, bins: bins)
        let separationBases = try decodeSeparationBases(file, rank: atoms.cols, bins: bins)
        let standard: Set = ["separation_set", "format", "version", "kind", "sample_rate", "n_fft", "hop", "window", "spectrum_exponent",
                             "beta", "rank", "sparsity", "iterations", "mask_speech_fingerprint",
                             "mask_context_past", "mask_context_future", "solve_layers"]
        var d = SpectralDictionary(
            atoms: atoms, kind: kind, sampleRate: sampleRate, stft: stft, spectrumExponent: exponent,
            beta: beta, sparsity: sparsity, iterations: iterations,
            extraMetadata: metadata.filter { !standard.contains($0.key) }, origin: path, maskBases: maskBases)
        d.separationBases = separationBases
        return d
    }

    /// The mask bases and solve layers a file carries (nil when none), checked against its atoms.
    static func decodeMaskBases(_ file: Safetensors, kind: Kind, rank: Int, bins: Int) throws(DenoiseError) -> MaskBases? {
        func fail(_ reason: String) -> DenoiseError { .invalidDictionary(path: file.path, reason: reason) }
        let metadata = file.metadata
        guard file.has("W_mask") else { return nil }
        guard kind != .speech else { throw fail("speech dictionaries do not carry mask bases") }
        let context = MaskContext(past: Int(metadata["mask_context_past"] ?? "0") ?? -1,
                                  future: Int(metadata["mask_context_future"] ?? "0") ?? -1)
        guard (0...MaskContext.limit).contains(context.past), (0...MaskContext.limit).contains(context.future) else {
            throw fail("metadata 'mask_context_past' and 'mask_context_future' must be integers from 0 to \(MaskContext.limit)")
        }
        let noise = try file.matrix("W_mask", rows: bins)
        guard noise.cols == rank * context.frames else {
            throw fail("tensor W_mask has \(noise.cols) columns, expected \(rank * context.frames) (rank \(rank) × \(context.frames) context frames)")
        }
        guard let print = metadata["mask_speech_fingerprint"] else { throw fail("metadata 'mask_speech_fingerprint' is missing") }
        let speech = try file.matrix("W_mask_speech", rows: bins)
        guard speech.cols % context.frames == 0 else {
            throw fail("tensor W_mask_speech has \(speech.cols) columns, not a multiple of \(context.frames) context frames")
        }
        // The speech rank is what W_mask_speech's blocks give it (checked against the speech
        // dictionary when the two are used together).
        let speechRank = speech.cols / context.frames
        var layers: Matrix?
        if file.has("W_layers") {
            let m = try file.matrix("W_layers")
            let width = speechRank + rank
            guard m.cols % width == 0, let count = Int(metadata["solve_layers"] ?? ""), m.cols == width * count else {
                throw fail("tensor W_layers has \(m.cols) columns, expected \(width) (speech rank + rank) × metadata 'solve_layers'")
            }
            guard m.rows <= bins else { throw fail("tensor W_layers has \(m.rows) rows, more than the \(bins) bins") }
            layers = m
        }
        return MaskBases(noise: noise, speech: speech, speechFingerprint: print, context: context, layers: layers)
    }

    /// The separation bases a file carries (nil when none).
    static func decodeSeparationBases(_ file: Safetensors, rank: Int, bins: Int) throws(DenoiseError) -> SeparationBases? {
        func fail(_ reason: String) -> DenoiseError { .invalidDictionary(path: file.path, reason: reason) }
        guard file.has("W_separation") else { return nil }
        let bases = try file.matrix("W_separation", rows: bins)
        guard bases.cols == rank else {
            throw fail("tensor W_separation has \(bases.cols) columns, expected the rank \(rank)")
        }
        let set = (file.metadata["separation_set"] ?? "").split(separator: ",").map(String.init)
        guard set.count >= 2 else { throw fail("metadata 'separation_set' must list the fingerprints of at least two dictionaries") }
        return SeparationBases(bases: bases, set: set)
    }

    /// "speech dictionary 'speech.safetensors'" (or without a name when it was not loaded from a file).
    public var label: String { origin.map { "\(kind.rawValue) dictionary '\($0)'" } ?? "\(kind.rawValue) dictionary" }
}

/// Neighbouring frames whose activations build a frame's mask (temporal context of the mask bases).
public struct MaskContext: Sendable, Equatable {
    /// Earlier frames used.
    public var past: Int
    /// Later frames used: the output waits for them (`future` hops of extra latency).
    public var future: Int
    public var frames: Int { past + 1 + future }
    /// Frame offsets, oldest first: the order of the bases' column blocks.
    public var offsets: ClosedRange<Int> { -past...future }
    public static let limit = 8

    public init(past: Int = 0, future: Int = 0) {
        self.past = past
        self.future = future
    }
}

extension Matrix {
    /// How the mask bases and solve layers are stored: each row divided by a power of two that puts
    /// its largest entry just below 2^15, then rounded to IEEE half precision (F16, ties to even; a
    /// dtype numpy reads, unlike the BF16 written before). The mask is a ratio of such rows, so what
    /// matters is each entry against its row's largest: plain F16 flushes the tiny rows of sparse
    /// bases to zero (a mask of 0/0; the discriminative test's KL went 19 k → 250 k); scaled, every
    /// row keeps 11 bits down to 2·10⁻⁹ of its largest. Powers of two make the scaling exact both ways.
    /// Returns the F16-exact values and the scales [rows × 1].
    func halfPrecision() -> (values: Matrix, scale: Matrix) {
        var scale = Matrix(rows: rows, cols: 1)
        for r in 0..<rows {
            var largest: Float = 0
            for c in 0..<cols { largest = Swift.max(largest, storage[c * rows + r]) }
            // 2^(⌈log₂ largest⌉ − 15): the row's largest entry lands in [2^14, 2^15], near the top of F16.
            scale.storage[r] = largest > 0 && largest.isFinite
                ? Float(sign: .plus, exponent: largest.exponent + (largest.significand > 1 ? 1 : 0) - 15, significand: 1) : 1
        }
        var values = self
        for c in 0..<cols {
            for r in 0..<rows { values.storage[c * rows + r] = Float(Float16(storage[c * rows + r] / scale.storage[r])) }
        }
        return (values, scale)
    }

    /// Every entry at the precision `halfPrecision` stores it in.
    func roundedToHalfPrecision() -> Matrix {
        let (values, scale) = halfPrecision()
        var out = values
        for c in 0..<cols { for r in 0..<rows { out.storage[c * rows + r] *= scale.storage[r] } }
        return out
    }
}
