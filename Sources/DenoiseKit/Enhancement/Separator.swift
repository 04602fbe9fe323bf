import Foundation

/// Run-time settings of N-source separation: the activation solve's (as `DenoiserOptions`) and the
/// mask's power. The masks are not floored or shaped, so that they sum to one.
public struct SeparatorOptions: Sendable, Equatable {
    public var iterations: Int
    /// p in the masks Mᵢ = Sᵢᵖ / Σⱼ Sⱼᵖ. 1 by default: on the speech + music mixtures (README,
    /// "Separation") p = 2 lost 1.4 dB SI-SDR on the music and 0.3 dB on the speech with the atoms.
    public var maskPower: Float
    public var sparsity: Float
    public var blockFrames: Int
    public var threads: Int
    /// Mel-spaced bands the activations are solved on (0: every STFT bin).
    public var bands: Int

    public init(iterations: Int = 40, maskPower: Float = 1, sparsity: Float = 0, blockFrames: Int = 512,
                threads: Int = ProcessInfo.processInfo.activeProcessorCount, bands: Int = 128) {
        self.iterations = iterations
        self.maskPower = maskPower
        self.sparsity = sparsity
        self.blockFrames = blockFrames
        self.threads = threads
        self.bands = bands
    }

    /// The same solve as `run` with these settings.
    var solve: DenoiserOptions {
        DenoiserOptions(iterations: iterations, maskPower: maskPower, sparsity: sparsity, blockFrames: blockFrames,
                        threads: threads, bands: bands, gainFloor: 0, gainExponent: 1)
    }

    public func validate() throws(DenoiseError) { try solve.validate() }
}

/// Supervised NMF source separation: one dictionary per source.
///
/// With W = [W₁ … W_N] fixed, each block of frames of the mixture's magnitude spectrogram V is
/// explained as V ≈ W·H (the same solve as `Denoiser`'s); source i's estimate Sᵢ = Bᵢ·Hᵢ gives the
/// soft mask Mᵢ = Sᵢᵖ / Σⱼ Sⱼᵖ, applied to the mixture's complex STFT. The masks sum to one, so
/// the sources sum to the mixture (up to float rounding). Bᵢ is the dictionary's atoms, or the
/// reconstruction bases `SourceMaskTrainer` trained for exactly this set of dictionaries.
///
/// Like `Denoiser`, a separator holds only what does not change and is shared by its streams; each
/// `SeparatorStream` carries its own working memory.
public final class Separator: Sendable {
    public struct Source: Sendable {
        public var name: String
        public var dictionary: SpectralDictionary
        public init(name: String, dictionary: SpectralDictionary) {
            self.name = name
            self.dictionary = dictionary
        }
    }

    public let sources: [Source]
    public let options: SeparatorOptions
    /// Whether the masks use trained separation bases (every dictionary carries ones for this set).
    public let usesTrainedBases: Bool
    /// Where trained separation bases go unused or are used otherwise than trained (a warning each,
    /// as `Denoiser.warnings`): nothing is dropped silently.
    public let warnings: [String]
    /// The rate the dictionaries were trained at.
    public var sampleRate: Int { sources[0].dictionary.sampleRate }
    var configuration: STFTConfiguration { stft.configuration }

    let stft: STFT
    let solver: ActivationSolver
    let bands: FrequencyBands?
    /// Source i's mask estimate: its bases and the activation rows they apply to.
    let estimates: [MaskEstimate]
    let exponent: Float

    /// One stream's working memory for blocks of up to `blockFrames` frames: the mixture's spectra,
    /// magnitude and pooled bands, the activations, each source's estimate (then its mask), the
    /// masks' common denominator, one masked spectrum at a time, the solver's and the FFT's scratch.
    final class BlockBuffers {
        let re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>, magnitude: UnsafeMutablePointer<Float>
        let activations: UnsafeMutablePointer<Float>, pooled: UnsafeMutablePointer<Float>?
        let estimated: [UnsafeMutablePointer<Float>], total: UnsafeMutablePointer<Float>
        let maskedRe: UnsafeMutablePointer<Float>, maskedIm: UnsafeMutablePointer<Float>
        let solver: ActivationSolver.Scratch
        let fft: STFT.Buffers
        private let all: [UnsafeMutablePointer<Float>]

        init(_ d: Separator) {
            let count = d.stft.bins * d.options.blockFrames
            let zeros = UnsafeMutablePointer<Float>.zeroed
            (re, im, magnitude, total, maskedRe, maskedIm) = (zeros(count), zeros(count), zeros(count), zeros(count), zeros(count), zeros(count))
            activations = zeros(d.solver.rank * d.options.blockFrames)
            pooled = d.bands.map { zeros($0.count * d.options.blockFrames) }
            estimated = d.estimates.map { _ in zeros(count) }
            solver = d.solver.makeScratch()
            fft = d.stft.makeBuffers()
            all = [re, im, magnitude, total, maskedRe, maskedIm, activations] + estimated + (pooled.map { [$0] } ?? [])
        }

        deinit { for p in all { p.deallocate() } }
    }

    public init(sources: [Source], options: SeparatorOptions = SeparatorOptions()) throws(DenoiseError) {
        try options.validate()
        guard sources.count >= 2 else {
            throw .invalidParameter("separation needs at least two sources (got \(sources.count))")
        }
        var seen = Set<String>()
        for s in sources {
            guard SpectralDictionary.Kind.isName(s.name) else {
                throw .invalidParameter("source name '\(s.name)' must be 1 to 64 letters, digits, '_' or '-'")
            }
            guard seen.insert(s.name).inserted else { throw .invalidParameter("source name '\(s.name)' is given twice") }
        }
        let dictionaries = sources.map(\.dictionary)
        try Denoiser.checkCompatible(dictionaries)
        self.sources = sources
        self.options = options
        let first = dictionaries[0]
        stft = try STFT(first.stft)
        exponent = first.spectrumExponent
        let atoms = Matrix.hstack(dictionaries.map(\.atoms))
        bands = Denoiser.solveBands(speech: first, options: options.solve)
        solver = ActivationSolver(atoms: bands?.pool(atoms) ?? atoms, beta: first.beta, sparsity: options.sparsity,
                                  iterations: options.iterations, capacity: options.blockFrames, threads: options.threads)
        let trained = Self.trainedBases(dictionaries)
        usesTrainedBases = trained != nil
        warnings = Self.mismatches(dictionaries, usingTrained: trained != nil, options: options)
        var estimates: [MaskEstimate] = [], row = 0
        for (i, d) in dictionaries.enumerated() {
            estimates.append(MaskEstimate(bases: trained?[i] ?? d.atoms, rows: row..<(row + d.rank)))
            row += d.rank
        }
        self.estimates = estimates
    }

    /// Each dictionary's separation bases when every one of `dictionaries` carries bases trained for
    /// exactly this set; nil otherwise.
    static func trainedBases(_ dictionaries: [SpectralDictionary]) -> [Matrix]? {
        let set = dictionaries.map(\.fingerprint).sorted()
        let bases = dictionaries.compactMap { d in d.separationBases.flatMap { $0.set == set ? $0.bases : nil } }
        return bases.count == dictionaries.count ? bases : nil
    }

    /// Dictionaries that carry separation bases for another set of sources than `dictionaries`
    /// (their bases are then unused).
    public static func unusedBases(_ dictionaries: [SpectralDictionary]) -> [SpectralDictionary] {
        trainedBases(dictionaries) != nil ? [] : dictionaries.filter { $0.separationBases != nil }
    }

    /// Bases for another set of sources, or run settings other than the ones the bases were trained for.
    static func mismatches(_ dictionaries: [SpectralDictionary], usingTrained: Bool, options: SeparatorOptions) -> [String] {
        var out = unusedBases(dictionaries).map {
            "\($0.label) carries separation bases for another set of sources: the masks use the dictionaries' atoms"
        }
        guard usingTrained, let first = dictionaries.first else { return out }
        let used = [("separation_mask_power", "mask_power", String(options.maskPower)), ("separation_run_bands", "run_bands", String(options.bands)),
                    ("separation_run_iterations", "run_iterations", String(options.iterations)), ("separation_run_sparsity", "run_sparsity", String(options.sparsity))]
        for (key, setting, value) in used {
            if let trained = first.extraMetadata[key], trained != value {
                out.append("the separation bases were trained with \(setting) \(trained); this run uses \(value)")
            }
        }
        return out
    }

    /// The activation rows of source `i`.
    func rowRange(of i: Int) -> Range<Int> { estimates[i].rows }

    /// Separates one channel at the dictionaries' rate: one signal per source, each as long as `signal`.
    public func separate(_ signal: [Float]) -> [[Float]] {
        let stream = SeparatorStream(self)
        let head = signal.withUnsafeBufferPointer { stream.push($0) }, tail = stream.finish()
        return zip(head, tail).map { $0 + $1 }
    }

    /// The activations H [rank × frames] solved for a magnitude spectrogram `v` [bins × frames]
    /// (floored as at run time): what the masks are built from.
    public func activations(_ v: Matrix) -> Matrix {
        let floored = BetaDivergence.floored(v)
        return solver.solve(bands?.pool(floored) ?? floored)
    }

    /// Analysis, H solve, masks and synthesis of frames `first ..< first + n`: `x` holds the signal
    /// from sample `inputOrigin` on, `outputs[i]` source i from sample `outputOrigin` on.
    func process(_ x: UnsafeBufferPointer<Float>, inputOrigin: Int, firstFrame first: Int, count n: Int,
                 into outputs: [UnsafeMutableBufferPointer<Float>], outputOrigin: Int, buffers b: BlockBuffers) {
        let bins = stft.bins, rank = solver.rank, count = bins * n
        let (re, im, h, q) = (b.re, b.im, b.activations, b.total)
        solver.analyzeAndSolve(x, origin: inputOrigin, firstFrame: first, count: n, stft: stft, exponent: exponent, bands: bands,
                               re: re, im: im, v: b.magnitude, pooled: b.pooled, h: h, fft: b.fft, scratch: b.solver)
        q.update(repeating: 0, count: count)
        for (i, e) in estimates.enumerated() {
            e.bases.storage.withUnsafeBufferPointer { pw in
                BLAS.gemm(m: bins, n: n, k: e.rows.count, a: pw.baseAddress!, lda: bins, b: h + e.rows.lowerBound,
                          ldb: rank, c: b.estimated[i], ldc: bins)
            }
            raiseAndAccumulate(b.estimated[i], power: options.maskPower, count: count, into: q)
        }
        let share = 1 / Float(estimates.count), mr = b.maskedRe, mi = b.maskedIm
        for i in estimates.indices {
            let s = b.estimated[i]
            for j in 0..<count {
                // Where every estimate vanishes the sources share the bin equally, so the masks
                // still sum to one.
                let g = q[j] > 0 && q[j].isFinite ? s[j] / q[j] : share
                mr[j] = re[j] * g
                mi[j] = im[j] * g
            }
            stft.synthesize(re: mr, im: mi, firstFrame: first, count: n, into: outputs[i], origin: outputOrigin, buffers: b.fft)
        }
    }
}

/// s ← sᵖ, and q += s (the masks' common denominator), with the common powers spelled out.
private func raiseAndAccumulate(_ s: UnsafeMutablePointer<Float>, power p: Float, count: Int, into q: UnsafeMutablePointer<Float>) {
    switch p {
    case 1: break
    case 2: for j in 0..<count { s[j] *= s[j] }
    default: for j in 0..<count { s[j] = powf(s[j], p) }
    }
    for j in 0..<count { q[j] += s[j] }
}

/// One channel separated as its samples arrive (at the dictionaries' rate).
///
/// Each frame's activations depend on that frame alone, so frames are solved as soon as they are
/// complete, in blocks of up to `blockFrames`, and the result does not depend on how the input was
/// chunked but for float rounding. A sample is released once every frame covering it has been added: at most nFFT samples
/// after it arrived. Memory holds about one window plus the largest push, per source.
public final class SeparatorStream {
    private let separator: Separator
    private let hop: Int, pad: Int
    private var input: [Float] = []
    private var inputOrigin = 0
    /// Each source's overlap-added output from `outputOrigin` on (an object each, so that all of
    /// them can be written at once).
    private final class Samples { var values: [Float] = [] }
    private let outputs: [Samples]
    private let buffers: Separator.BlockBuffers
    private var outputOrigin = 0
    private var nextFrame = 0
    public private(set) var received = 0

    /// A stream with working memory of its own: streams of one separator may run at once.
    public convenience init(_ separator: Separator) { self.init(separator, scratch: Separator.BlockBuffers(separator)) }

    /// A stream whose block scratch is shared with other streams that run in turn (a pipeline's channels).
    init(_ separator: Separator, scratch: Separator.BlockBuffers) {
        self.separator = separator
        hop = separator.configuration.hop
        pad = separator.configuration.leadingPadding
        outputs = separator.sources.map { _ in Samples() }
        buffers = scratch
    }

    /// Adds samples; returns, per source, the separated samples this completes.
    public func push(_ samples: UnsafeBufferPointer<Float>) -> [[Float]] {
        input.appendRepaired(samples)
        received += samples.count
        return run(toFrame: received / hop, releaseTo: (received / hop) * hop - pad)
    }

    /// Processes the last frames (zeros past the end) and returns the rest of each source.
    public func finish() -> [[Float]] {
        run(toFrame: separator.configuration.frameCount(samples: received), releaseTo: received)
    }

    private func run(toFrame end: Int, releaseTo released: Int) -> [[Float]] {
        if end > nextFrame {
            let needed = end * hop - outputOrigin
            for o in outputs where o.values.count < needed {
                o.values.append(contentsOf: repeatElement(0, count: needed - o.values.count))
            }
            let block = separator.options.blockFrames
            input.withUnsafeBufferPointer { x in
                withOutputs { y in
                    while nextFrame < end {
                        let n = min(block, end - nextFrame)
                        separator.process(x, inputOrigin: inputOrigin, firstFrame: nextFrame, count: n, into: y, outputOrigin: outputOrigin,
                                          buffers: buffers)
                        nextFrame += n
                    }
                }
            }
            let drop = min(max(nextFrame * hop - pad - inputOrigin, 0), input.count)
            input.removeFirst(drop)
            inputOrigin += drop
        }
        let count = min(max(released - outputOrigin, 0), outputs[0].values.count)
        outputOrigin += count
        return outputs.map { o in
            let done = Array(o.values[..<count])
            o.values.removeFirst(count)
            return done
        }
    }

    /// `body` with every source's output buffer.
    private func withOutputs(from i: Int = 0, _ taken: [UnsafeMutableBufferPointer<Float>] = [],
                             _ body: ([UnsafeMutableBufferPointer<Float>]) -> Void) {
        guard i < outputs.count else { return body(taken) }
        outputs[i].values.withUnsafeMutableBufferPointer { withOutputs(from: i + 1, taken + [$0], body) }
    }
}
