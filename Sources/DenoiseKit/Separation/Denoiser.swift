import Foundation

/// Run-time settings of supervised separation.
public struct DenoiserOptions: Sendable, Equatable {
    /// Multiplicative-update iterations for H per block of frames.
    public var iterations: Int
    /// p in the mask M = Sᵖ / (Sᵖ + Nᵖ).
    public var maskPower: Float
    /// λ, L1 penalty on H at run time.
    public var sparsity: Float
    /// Frames solved together: bounds memory, and lets BLAS work on large products.
    public var blockFrames: Int

    public init(iterations: Int = 100, maskPower: Float = 2, sparsity: Float = 0, blockFrames: Int = 512) {
        self.iterations = iterations
        self.maskPower = maskPower
        self.sparsity = sparsity
        self.blockFrames = blockFrames
    }

    public func validate() throws(DenoiseError) {
        guard iterations >= 1, iterations <= 100_000 else {
            throw .invalidParameter("iterations must be between 1 and 100000 (got \(iterations))")
        }
        guard maskPower > 0, maskPower <= 8 else { throw .invalidParameter("mask power must be in (0, 8] (got \(maskPower))") }
        guard sparsity >= 0, sparsity.isFinite else { throw .invalidParameter("sparsity must be non-negative (got \(sparsity))") }
        guard blockFrames >= 1 else { throw .invalidParameter("block size must be at least 1 frame (got \(blockFrames))") }
    }
}

/// Supervised NMF speech enhancement.
///
/// With W = [W_speech W_noise] fixed, each block of frames of the noisy magnitude spectrogram V is
/// explained as V ≈ W·H; the speech estimate S = W_speech·H_speech and noise estimate
/// N = W_noise·H_noise give the soft mask M = Sᵖ / (Sᵖ + Nᵖ), which is applied to the complex noisy
/// STFT before the inverse STFT.
public final class Denoiser {
    public let speech: SpectralDictionary
    public let noise: [SpectralDictionary]
    public let options: DenoiserOptions
    /// The rate the dictionaries were trained at; other inputs are resampled to it and back.
    public var sampleRate: Int { speech.sampleRate }

    private let stft: STFT
    private let solver: ActivationSolver
    /// Bases the mask's speech and noise estimates are built from: the solve's own W, or the
    /// discriminative reconstruction bases of the noise dictionary when it carries matching ones.
    private let maskAtoms: Matrix
    /// Whether `maskAtoms` are discriminatively trained bases.
    public let usesMaskBases: Bool
    private let speechRank: Int
    private let exponent: Float
    // Block buffers, [bins × blockFrames] and [rank × blockFrames].
    private var re: [Float], im: [Float], magnitude: [Float], speechModel: [Float], noiseModel: [Float], activations: [Float]

    public init(speech: SpectralDictionary, noise: [SpectralDictionary], options: DenoiserOptions = DenoiserOptions()) throws(DenoiseError) {
        try options.validate()
        guard !noise.isEmpty else { throw .invalidParameter("at least one noise dictionary is needed") }
        try Self.checkCompatible([speech] + noise)
        self.speech = speech
        self.noise = noise
        self.options = options
        stft = try STFT(speech.stft)
        speechRank = speech.rank
        exponent = speech.spectrumExponent
        let atoms = Matrix.hstack([speech.atoms] + noise.map(\.atoms))
        solver = ActivationSolver(atoms: atoms, beta: speech.beta, sparsity: options.sparsity,
                                  iterations: options.iterations, capacity: options.blockFrames)
        if noise.count == 1, let bases = noise[0].maskBases, bases.speechFingerprint == speech.fingerprint,
           bases.speech.cols == speech.rank {
            maskAtoms = Matrix.hstack([bases.speech, bases.noise])
            usesMaskBases = true
        } else {
            maskAtoms = atoms
            usesMaskBases = false
        }
        let big = speech.bins * options.blockFrames
        re = [Float](repeating: 0, count: big)
        im = re; magnitude = re; speechModel = re; noiseModel = re
        activations = [Float](repeating: 0, count: atoms.cols * options.blockFrames)
    }

    /// Dictionaries can only be used together if they share the sample rate, the STFT and the
    /// spectrum exponent; the error names both disagreeing files and values.
    public static func checkCompatible(_ dictionaries: [SpectralDictionary]) throws(DenoiseError) {
        guard let first = dictionaries.first else { return }
        for d in dictionaries.dropFirst() {
            func check<T: Equatable>(_ name: String, _ a: T, _ b: T) throws(DenoiseError) {
                if a != b { throw .incompatible("dictionaries disagree on \(name): \(first.label) has \(a), \(d.label) has \(b)") }
            }
            try check("sample_rate", first.sampleRate, d.sampleRate)
            try check("n_fft", first.stft.nFFT, d.stft.nFFT)
            try check("hop", first.stft.hop, d.stft.hop)
            try check("spectrum_exponent", first.spectrumExponent, d.spectrumExponent)
        }
    }

    /// Cleans every channel of `audio` (any sample rate): the result has the input's rate,
    /// channel count and length. `progress` is called with the fraction done (0...1).
    public func denoise(_ audio: AudioBuffer, progress: ((Double) -> Void)? = nil) throws(DenoiseError) -> AudioBuffer {
        var channels: [[Float]] = []
        for (c, x) in audio.channels.enumerated() {
            let atRate = try Resampler.resample(x, from: audio.sampleRate, to: sampleRate)
            let share = 1 / Double(audio.channelCount)
            let cleaned = denoise(atRate, progress: progress.map { report in { report((Double(c) + $0) * share) } })
            var y = try Resampler.resample(cleaned, from: sampleRate, to: audio.sampleRate)
            // Resampling there and back can be off by a sample: keep the input's length exactly.
            if y.count > x.count { y.removeLast(y.count - x.count) }
            if y.count < x.count { y.append(contentsOf: repeatElement(0, count: x.count - y.count)) }
            channels.append(y)
        }
        return AudioBuffer(sampleRate: audio.sampleRate, channels: channels)
    }

    /// Cleans one channel at the dictionaries' sample rate.
    public func denoise(_ signal: [Float], progress: ((Double) -> Void)? = nil) -> [Float] {
        var out = [Float](repeating: 0, count: signal.count)
        let frames = stft.configuration.frameCount(samples: signal.count)
        let block = options.blockFrames
        signal.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                var first = 0
                while first < frames {
                    let n = min(block, frames - first)
                    process(x, firstFrame: first, count: n, into: y)
                    first += n
                    progress?(Double(first) / Double(frames))
                }
            }
        }
        return out
    }

    /// Analysis, H solve, mask and synthesis of frames `first ..< first + n`.
    private func process(_ x: UnsafeBufferPointer<Float>, firstFrame first: Int, count n: Int, into y: UnsafeMutableBufferPointer<Float>) {
        let bins = stft.bins, rank = solver.rank, ks = speechRank, count = bins * n
        let p = options.maskPower
        re.withUnsafeMutableBufferPointer { pre in
        im.withUnsafeMutableBufferPointer { pim in
        magnitude.withUnsafeMutableBufferPointer { pv in
        speechModel.withUnsafeMutableBufferPointer { ps in
        noiseModel.withUnsafeMutableBufferPointer { pn in
        activations.withUnsafeMutableBufferPointer { ph in
        maskAtoms.storage.withUnsafeBufferPointer { pw in
            let re = pre.baseAddress!, im = pim.baseAddress!, v = pv.baseAddress!
            let s = ps.baseAddress!, nm = pn.baseAddress!, h = ph.baseAddress!, w = pw.baseAddress!
            stft.analyze(x, firstFrame: first, count: n, re: re, im: im)
            spectralMagnitude(re: re, im: im, count: count, exponent: exponent, into: v)
            let floor = BetaDivergence.floor
            for i in 0..<count { v[i] = max(v[i], floor) }
            solver.solve(v: v, frames: n, h: h)
            // S = W_s·H_s and N = W_n·H_n: H's first ks rows belong to speech (leading dimension rank).
            BLAS.gemm(m: bins, n: n, k: ks, a: w, lda: bins, b: h, ldb: rank, c: s, ldc: bins)
            BLAS.gemm(m: bins, n: n, k: rank - ks, a: w + bins * ks, lda: bins, b: h + ks, ldb: rank, c: nm, ldc: bins)
            applyMask(speech: s, noise: nm, power: p, count: count, re: re, im: im)
            stft.synthesize(re: re, im: im, firstFrame: first, count: n, into: y)
        }}}}}}}
    }
}

/// X ← X · Sᵖ / (Sᵖ + Nᵖ); where both estimates vanish the gain is 0, never NaN.
func applyMask(speech s: UnsafePointer<Float>, noise n: UnsafePointer<Float>, power p: Float, count: Int,
               re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>) {
    let tiny = Float.leastNormalMagnitude
    @inline(__always) func gain(_ a: Float, _ b: Float) -> Float { a / max(a + b, tiny) }
    switch p {
    case 1: for i in 0..<count { let g = gain(s[i], n[i]); re[i] *= g; im[i] *= g }
    case 2: for i in 0..<count { let g = gain(s[i] * s[i], n[i] * n[i]); re[i] *= g; im[i] *= g }
    default: for i in 0..<count { let g = gain(powf(s[i], p), powf(n[i], p)); re[i] *= g; im[i] *= g }
    }
}
