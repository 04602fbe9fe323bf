import Foundation

/// Run-time settings of supervised separation.
public struct DenoiserOptions: Sendable, Equatable {
    /// Multiplicative-update iterations for H per block of frames.
    public var iterations: Int
    /// p in the mask M = Sᵖ / (Sᵖ + Nᵖ). 2 by default, the Wiener mask the shipped bases and solve
    /// layers are trained through: with them, p = 3 (which suited bases without layers) measured
    /// +0.03 dB SI-SDR but −0.03 PESQ and −0.004 STOI on the dev pairs, p = 1.5 worse in all three.
    public var maskPower: Float
    /// λ, L1 penalty on H at run time.
    public var sparsity: Float
    /// Frames solved together: bounds memory, and lets BLAS work on large products.
    public var blockFrames: Int
    /// Threads a block's activations are solved on (1 when files are cleaned in parallel).
    public var threads: Int
    /// Mel-spaced bands the activations are solved on (0: every STFT bin). The mask is still built
    /// at full resolution.
    public var bands: Int
    /// Lowest gain of the mask: keeps a little of the noise, against "musical noise".
    public var gainFloor: Float
    /// γ in the gain Mᵞ applied to the noisy STFT (a parametric Wiener filter): above 1 it lowers the
    /// gains of bins the mask already judges mostly noise more than those of speech bins. 1.25 by
    /// default: on the dev pairs with the shipped dictionaries it raised PESQ by 0.03 (general
    /// model) to 0.05 (named type) at equal SI-SDR and STOI; 1.5 gave no more PESQ and lost STOI.
    public var gainExponent: Float

    /// The defaults: 40 iterations on 128 bands cost a quarter of 100 on every bin at nearly the same
    /// quality (README, "Speed").
    public init(iterations: Int = 40, maskPower: Float = 2, sparsity: Float = 0, blockFrames: Int = 512,
                threads: Int = ProcessInfo.processInfo.activeProcessorCount, bands: Int = 128, gainFloor: Float = 0,
                gainExponent: Float = 1.25) {
        self.bands = bands
        self.gainFloor = gainFloor
        self.gainExponent = gainExponent
        self.iterations = iterations
        self.maskPower = maskPower
        self.sparsity = sparsity
        self.blockFrames = blockFrames
        self.threads = threads
    }

    public func validate() throws(DenoiseError) {
        guard iterations >= 1, iterations <= 100_000 else {
            throw .invalidParameter("iterations must be between 1 and 100000 (got \(iterations))")
        }
        guard maskPower > 0, maskPower <= 8 else { throw .invalidParameter("mask power must be in (0, 8] (got \(maskPower))") }
        guard sparsity >= 0, sparsity.isFinite else { throw .invalidParameter("sparsity must be non-negative (got \(sparsity))") }
        guard blockFrames >= 1 else { throw .invalidParameter("block size must be at least 1 frame (got \(blockFrames))") }
        guard gainFloor >= 0, gainFloor <= 1 else { throw .invalidParameter("gain floor must be in [0, 1] (got \(gainFloor))") }
        guard gainExponent > 0, gainExponent <= 8 else { throw .invalidParameter("gain exponent must be in (0, 8] (got \(gainExponent))") }
        guard bands >= 0 else { throw .invalidParameter("bands must be 0 (every bin) or positive (got \(bands))") }
        guard threads >= 1, threads <= 256 else { throw .invalidParameter("threads must be between 1 and 256 (got \(threads))") }
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
    /// The solve's frequency axis when it is pooled into bands.
    private let bands: FrequencyBands?
    /// The mask's speech and noise estimates, S_t = Σ_o A_o·H[rows](t + o) and likewise N: from the
    /// solve's own atoms, or from the discriminative reconstruction bases of the noise dictionary
    /// when it carries ones trained with this speech dictionary.
    private let speechEstimate: MaskEstimate, noiseEstimate: MaskEstimate
    /// Whether the estimates use discriminatively trained bases.
    public let usesMaskBases: Bool
    /// How many of the solve's last iterations use atoms trained with those bases (0: none).
    public let trainedLayers: Int
    /// Frames around each frame whose activations build its mask (from the mask bases).
    public let context: MaskContext
    private let exponent: Float
    // Block buffers. The spectra [bins × (future + blockFrames)] and activations
    // [rank × (past + future + blockFrames)] start with the frames carried over from the last block.
    private var re: [Float], im: [Float], activations: [Float]
    private var magnitude: [Float], speechModel: [Float], noiseModel: [Float]  // [bins × blockFrames]
    private var pooled: [Float]  // [bands × blockFrames]

    public init(speech: SpectralDictionary, noise: [SpectralDictionary], options: DenoiserOptions = DenoiserOptions()) throws(DenoiseError) {
        try options.validate()
        guard !noise.isEmpty else { throw .invalidParameter("at least one noise dictionary is needed") }
        try Self.checkCompatible([speech] + noise)
        self.speech = speech
        self.noise = noise
        self.options = options
        stft = try STFT(speech.stft)
        exponent = speech.spectrumExponent
        let atoms = Matrix.hstack([speech.atoms] + noise.map(\.atoms))
        let bands = Self.solveBands(speech: speech, options: options)
        self.bands = bands
        // The first noise dictionary with mask bases for this speech dictionary lends its speech and
        // noise bases to the mask; other noise dictionaries (a --noise-sample, --adapt) keep their own
        // atoms, brought to the bases' scale, at the frame's own offset only.
        let withBases = noise.firstIndex { d in
            d.maskBases.map { b in
                b.speechFingerprint == speech.fingerprint
                    && b.speech.cols == speech.rank * b.context.frames
            } ?? false
        }
        let solveAtoms = bands?.pool(atoms) ?? atoms
        var layers: Matrix?
        if let withBases, let bases = noise[withBases].maskBases {
            context = bases.context
            let scale = Self.scale(of: bases.speech, against: speech.atoms)
            (speechEstimate, noiseEstimate) = Self.estimates(speech: speech, noise: noise, withBases: withBases, bases: bases, scale: scale)
            usesMaskBases = true
            // Trained solve layers serve only the frequency axis they were trained on.
            if let trained = bases.layers, trained.rows == solveAtoms.rows {
                layers = Self.solveLayers(trained, count: bases.layerCount, speech: speech, noise: noise, withBases: withBases, bands: bands)
            }
        } else {
            context = MaskContext()
            speechEstimate = MaskEstimate(bases: speech.atoms, rows: 0..<speech.rank)
            noiseEstimate = MaskEstimate(bases: Matrix.hstack(noise.map(\.atoms)), rows: speech.rank..<atoms.cols)
            usesMaskBases = false
        }
        trainedLayers = min(layers.map { $0.cols / atoms.cols } ?? 0, options.iterations)
        solver = ActivationSolver(atoms: solveAtoms, layers: layers, beta: speech.beta, sparsity: options.sparsity,
                                  iterations: options.iterations, capacity: options.blockFrames, threads: options.threads)
        let bins = speech.bins, rank = atoms.cols, lag = context.future, history = context.past + context.future
        re = [Float](repeating: 0, count: bins * (options.blockFrames + lag))
        im = re
        magnitude = [Float](repeating: 0, count: bins * options.blockFrames)
        speechModel = magnitude; noiseModel = magnitude
        activations = [Float](repeating: 0, count: rank * (options.blockFrames + history))
        pooled = [Float](repeating: 0, count: (bands?.count ?? 0) * options.blockFrames)
    }

    /// Per row (bin or band), how much larger `bases` are than `atoms`: Σ over the columns of the
    /// bases / Σ over the columns of the atoms. For the mask, the speech bases (over every context)
    /// against the speech dictionary, and for each solve layer its speech atoms against the plain
    /// ones: both are trained with their scale free. The mask is a ratio, so training leaves the bases' overall scale free (it drifts to 20-70×); a
    /// noise dictionary without bases (a --noise-sample, --adapt) is brought to the speech bases'
    /// scale so that the mask weighs its noise against speech as the plain Wiener mask would.
    /// (Without this it counted for almost nothing: dev pairs, --noise-sample ΔPESQ +0.19 → +0.28;
    /// the noise bases' scale instead over-suppressed, +10 dB group +2.4 → +0.8 dB.)
    static func scale(of bases: Matrix, against atoms: Matrix) -> [Float] {
        let bins = atoms.rows
        var scale = [Float](repeating: 0, count: bins)
        for f in 0..<bins {
            var b: Float = 0, a: Float = 0
            for k in 0..<bases.cols { b += bases.storage[k * bins + f] }
            for k in 0..<atoms.cols { a += atoms.storage[k * bins + f] }
            scale[f] = a > 0 ? b / a : 0
        }
        return scale
    }

    /// The speech and noise estimates from `noise[withBases]`'s mask bases. The other noise dictionaries
    /// add their atoms scaled per bin by `scale` at the frame's own offset to the noise estimate.
    static func estimates(speech: SpectralDictionary, noise: [SpectralDictionary], withBases: Int,
                          bases: SpectralDictionary.MaskBases, scale: [Float]) -> (speech: MaskEstimate, noise: MaskEstimate) {
        let ks = speech.rank, kn = noise[withBases].rank, total = ks + noise.reduce(0) { $0 + $1.rank }
        var noiseBlocks: [Matrix] = []
        for (block, offset) in bases.context.offsets.enumerated() {
            for d in noise.indices {
                noiseBlocks.append(d == withBases ? bases.noise.columns((block * kn)..<((block + 1) * kn))
                                   : offset == 0 ? Self.scaledRows(noise[d].atoms, scale) : Matrix(rows: speech.bins, cols: noise[d].rank))
            }
        }
        return (MaskEstimate(bases: bases.speech, rows: 0..<ks), MaskEstimate(bases: Matrix.hstack(noiseBlocks), rows: ks..<total))
    }

    /// The frequency axis the activations are solved on: mel bands, or nil for every STFT bin.
    static func solveBands(speech: SpectralDictionary, options: DenoiserOptions) -> FrequencyBands? {
        options.bands > 0 && options.bands < speech.bins
            ? FrequencyBands(bins: speech.bins, bands: options.bands, sampleRate: speech.sampleRate) : nil
    }

    /// The solver's layer atoms: each trained block (speech atoms, then `noise[withBases]`'s) with the
    /// other noise dictionaries' own atoms in their places, scaled per band like that layer's speech
    /// atoms. Training leaves each layer's scale free (2-4× the plain atoms, more in some bands);
    /// unscaled, a --noise-sample's atoms ended with activations at the wrong scale and the mask
    /// removed the speech (Samples/speech-fan.wav: −1.9 dB SI-SDR; scaled +5.6 dB, as without layers).
    static func solveLayers(_ trained: Matrix, count: Int, speech: SpectralDictionary, noise: [SpectralDictionary],
                            withBases: Int, bands: FrequencyBands?) -> Matrix {
        let width = trained.cols / count, ks = speech.rank
        let plainSpeech = bands?.pool(speech.atoms) ?? speech.atoms
        var blocks: [Matrix] = []
        for layer in 0..<count {
            let block = trained.columns((layer * width)..<((layer + 1) * width))
            let scale = scale(of: block.columns(0..<ks), against: plainSpeech)
            blocks.append(block.columns(0..<ks))
            for d in noise.indices {
                blocks.append(d == withBases ? block.columns(ks..<width) : scaledRows(bands?.pool(noise[d].atoms) ?? noise[d].atoms, scale))
            }
        }
        return Matrix.hstack(blocks)
    }

    /// `m` with row f multiplied by `scale[f]`.
    static func scaledRows(_ m: Matrix, _ scale: [Float]) -> Matrix {
        var out = m
        for k in 0..<m.cols { for f in 0..<m.rows { out.storage[k * m.rows + f] *= scale[f] } }
        return out
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
    /// channel count and length.
    public func denoise(_ audio: AudioBuffer) throws(DenoiseError) -> AudioBuffer {
        var channels: [[Float]] = []
        for x in audio.channels {
            let pipeline = try CleaningPipeline(denoiser: self, sampleRate: audio.sampleRate, channels: 1)
            var y = x.withUnsafeBufferPointer { pipeline.process($0) }
            y += pipeline.finish()
            channels.append(y)
        }
        return AudioBuffer(sampleRate: audio.sampleRate, channels: channels)
    }

    /// Cleans one channel at the dictionaries' sample rate.
    public func denoise(_ signal: [Float]) -> [Float] {
        let stream = DenoiserStream(self)
        return signal.withUnsafeBufferPointer { stream.push($0) } + stream.finish()
    }

    /// Analysis and H solve of frames `first ..< first + n`, then mask and synthesis of the frames
    /// `context.future` behind them, whose later context is now known. `x` holds the signal from
    /// sample `inputOrigin` on, `y` the output from sample `outputOrigin` on; `carry` holds the
    /// spectra and activations of the frames before `first` that later frames still need.
    fileprivate func process(_ x: UnsafeBufferPointer<Float>, inputOrigin: Int, firstFrame first: Int, count n: Int,
                             into y: UnsafeMutableBufferPointer<Float>, outputOrigin: Int, carry: inout Carry) {
        let bins = stft.bins, rank = solver.rank
        let lag = context.future, history = context.past + context.future
        re.withUnsafeMutableBufferPointer { pre in
        im.withUnsafeMutableBufferPointer { pim in
        magnitude.withUnsafeMutableBufferPointer { pv in
        speechModel.withUnsafeMutableBufferPointer { ps in
        noiseModel.withUnsafeMutableBufferPointer { pn in
        activations.withUnsafeMutableBufferPointer { ph in
        speechEstimate.bases.storage.withUnsafeBufferPointer { pws in
        noiseEstimate.bases.storage.withUnsafeBufferPointer { pwn in
            let re = pre.baseAddress!, im = pim.baseAddress!, v = pv.baseAddress!
            let s = ps.baseAddress!, nm = pn.baseAddress!, h = ph.baseAddress!
            let ws = pws.baseAddress!, wn = pwn.baseAddress!
            carry.restore(re: re, im: im, h: h)
            let newRe = re + lag * bins, newIm = im + lag * bins, newH = h + history * rank
            pooled.withUnsafeMutableBufferPointer { pb in
                solver.analyzeAndSolve(x, origin: inputOrigin, firstFrame: first, count: n, stft: stft, exponent: exponent, bands: bands,
                                       re: newRe, im: newIm, v: v, pooled: pb.baseAddress, h: newH)
            }
            // The mask's products are as large as the solve's with a wide context: split the columns
            // between the threads too.
            let parts = max(min(options.threads, n / 32), 1)
            let job = UnsafeSendable((denoiser: self, ws: ws, wn: wn, h: h, s: s, nm: nm, re: re, im: im))
            @Sendable func mask(_ part: Int) {
                let (d, ws, wn, h, s, nm, re, im) = job.value
                let lo = n * part / parts, hi = n * (part + 1) / parts
                d.mask(columns: lo..<hi, speechBases: ws, noiseBases: wn, h: h, s: s, noise: nm, re: re, im: im)
            }
            if parts > 1 {
                BLAS.withThreads(1) { DispatchQueue.concurrentPerform(iterations: parts) { mask($0) } }
            } else {
                mask(0)
            }
            stft.synthesize(re: re, im: im, firstFrame: first - lag, count: n, into: y, origin: outputOrigin)
            carry.save(re: newRe + (n - lag) * bins, im: newIm + (n - lag) * bins, h: newH + (n - history) * rank)
        }}}}}}}}
    }

    /// Builds and applies the mask of spectra columns `columns` (frame first − future + j is column
    /// j): S = Σ_o A_o · H[speech rows](t + o) and N likewise, where activation column j + past + o
    /// holds frame t + o (leading dimension rank).
    private func mask(columns: Range<Int>, speechBases: UnsafePointer<Float>, noiseBases: UnsafePointer<Float>,
                      h: UnsafePointer<Float>, s: UnsafeMutablePointer<Float>, noise nm: UnsafeMutablePointer<Float>,
                      re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>) {
        let bins = stft.bins, rank = solver.rank, n = columns.count, j = columns.lowerBound
        guard n > 0 else { return }
        let s = s + j * bins, nm = nm + j * bins
        let sr = speechEstimate.rows, nr = noiseEstimate.rows
        for (block, offset) in context.offsets.enumerated() {
            let hb = h + (j + context.past + offset) * rank
            let accumulate: Float = block == 0 ? 0 : 1
            BLAS.gemm(m: bins, n: n, k: sr.count, a: speechBases + block * sr.count * bins, lda: bins, b: hb + sr.lowerBound,
                      ldb: rank, beta: accumulate, c: s, ldc: bins)
            BLAS.gemm(m: bins, n: n, k: nr.count, a: noiseBases + block * nr.count * bins, lda: bins, b: hb + nr.lowerBound,
                      ldb: rank, beta: accumulate, c: nm, ldc: bins)
        }
        applyMask(speech: s, noise: nm, power: options.maskPower, exponent: options.gainExponent, floor: options.gainFloor, count: bins * n,
                  re: re + j * bins, im: im + j * bins)
    }

    /// A stream's frames from before its next block that the next block's masks still need: the
    /// last `future` spectra and the last `past + future` activations.
    fileprivate struct Carry {
        var re: [Float], im: [Float], h: [Float]

        init(bins: Int, rank: Int, context: MaskContext) {
            re = [Float](repeating: 0, count: bins * context.future)
            im = re
            h = [Float](repeating: 0, count: rank * (context.past + context.future))
        }

        func restore(re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>) {
            self.re.withUnsafeBufferPointer { re.update(from: $0.baseAddress!, count: $0.count) }
            self.im.withUnsafeBufferPointer { im.update(from: $0.baseAddress!, count: $0.count) }
            self.h.withUnsafeBufferPointer { h.update(from: $0.baseAddress!, count: $0.count) }
        }

        /// Copies the carried columns out: they end where the block's columns end.
        mutating func save(re: UnsafePointer<Float>, im: UnsafePointer<Float>, h: UnsafePointer<Float>) {
            self.re.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: re, count: $0.count) }
            self.im.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: im, count: $0.count) }
            self.h.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: h, count: $0.count) }
        }
    }

    fileprivate func makeCarry() -> Carry { Carry(bins: stft.bins, rank: solver.rank, context: context) }

    var configuration: STFTConfiguration { stft.configuration }

    /// The activations H [rank × frames] this denoiser solves for a magnitude spectrogram `v`
    /// [bins × frames] (floored as at run time): what the mask is built from.
    public func activations(_ v: Matrix) -> Matrix {
        var floored = v
        for i in floored.storage.indices { floored.storage[i] = max(floored.storage[i], BetaDivergence.floor) }
        return solver.solve(bands?.pool(floored) ?? floored)
    }
}

/// One of the mask's two estimates: one [bins × rows.count] block of bases per context frame, oldest
/// first, each applied to the activation rows `rows` of its frame.
struct MaskEstimate {
    let bases: Matrix
    let rows: Range<Int>
}

/// One channel cleaned as its samples arrive (at the dictionaries' rate).
///
/// With W fixed, each frame's activations depend on that frame alone, so frames are solved as soon
/// as they are complete, in blocks of up to `blockFrames`, and the result does not depend on how
/// the input was chunked. A frame is masked once the mask's future context is solved too. A sample
/// is released once every frame covering it has been added, at most nFFT + future·hop samples
/// after it arrived. Memory holds about one window plus the largest push.
public final class DenoiserStream {
    private let denoiser: Denoiser
    private let hop: Int, pad: Int
    /// Signal samples from `inputOrigin` on.
    private var input: [Float] = []
    private var inputOrigin = 0
    /// Overlap-added output from `outputOrigin` on.
    private var output: [Float] = []
    private var outputOrigin = 0
    private var nextFrame = 0
    public private(set) var received = 0
    /// Frames solved but not yet masked: the mask's future context.
    private let lag: Int
    private var carry: Denoiser.Carry

    /// The stream uses `denoiser`'s buffers: streams of one denoiser must not run concurrently.
    public init(_ denoiser: Denoiser) {
        self.denoiser = denoiser
        hop = denoiser.configuration.hop
        pad = denoiser.configuration.leadingPadding
        lag = denoiser.context.future
        carry = denoiser.makeCarry()
    }

    /// Adds samples; returns the cleaned samples this completes.
    public func push(_ samples: UnsafeBufferPointer<Float>) -> [Float] {
        let start = input.count
        input.append(contentsOf: samples)
        // Readers count and report these; here they are only made harmless (NaN/Inf → 0, far out of
        // range → clamped), so no input given to the library can overflow the spectra.
        var repairs = SampleRepairs()
        if !samples.isEmpty { input.withUnsafeMutableBufferPointer { repairs.repair($0.baseAddress! + start, count: samples.count) } }
        received += samples.count
        // Frame t ends at sample (t + 1)·hop: frames 0 ..< received / hop are complete, and the ones
        // `lag` frames behind them are masked and added.
        return run(toFrame: received / hop, releaseTo: (received / hop - lag) * hop - pad)
    }

    /// Processes the last frames (zeros past the end, and `lag` more to complete the last masks'
    /// context) and returns the rest of the output.
    public func finish() -> [Float] {
        run(toFrame: denoiser.configuration.frameCount(samples: received) + lag, releaseTo: received)
    }

    private func run(toFrame end: Int, releaseTo released: Int) -> [Float] {
        if end > nextFrame {
            // Frame t writes samples up to (t + 1)·hop.
            let needed = end * hop - outputOrigin
            if output.count < needed { output.append(contentsOf: repeatElement(0, count: needed - output.count)) }
            let block = denoiser.options.blockFrames
            input.withUnsafeBufferPointer { x in
                output.withUnsafeMutableBufferPointer { y in
                    while nextFrame < end {
                        let n = min(block, end - nextFrame)
                        denoiser.process(x, inputOrigin: inputOrigin, firstFrame: nextFrame, count: n, into: y,
                                         outputOrigin: outputOrigin, carry: &carry)
                        nextFrame += n
                    }
                }
            }
            // The next frame starts at nextFrame·hop − pad; earlier input is no longer needed.
            let drop = min(max(nextFrame * hop - pad - inputOrigin, 0), input.count)
            input.removeFirst(drop)
            inputOrigin += drop
        }
        let count = min(max(released - outputOrigin, 0), output.count)
        let done = Array(output[..<count])
        output.removeFirst(count)
        outputOrigin += count
        return done
    }
}

/// X ← X · max((Sᵖ / (Sᵖ + Nᵖ))ᵞ, floor); where both estimates vanish (or are not numbers) the gain
/// is the floor, never NaN. The ratio is written over `speech` first (it is not needed afterwards),
/// then shaped by γ, then applied: each pass a plain loop, with the common powers spelled out (powf
/// costs ~1 s on a 10-minute file).
func applyMask(speech s: UnsafeMutablePointer<Float>, noise n: UnsafePointer<Float>, power p: Float, exponent: Float, floor: Float,
               count: Int, re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>) {
    let tiny = Float.leastNormalMagnitude
    @inline(__always) func ratio(_ a: Float, _ b: Float) -> Float { a / max(a + b, tiny) }
    switch p {
    case 1: for i in 0..<count { s[i] = ratio(s[i], n[i]) }
    case 2: for i in 0..<count { s[i] = ratio(s[i] * s[i], n[i] * n[i]) }
    case 3: for i in 0..<count { s[i] = ratio(s[i] * s[i] * s[i], n[i] * n[i] * n[i]) }
    default: for i in 0..<count { s[i] = ratio(powf(s[i], p), powf(n[i], p)) }
    }
    switch exponent {
    case 1: break
    case 1.25: for i in 0..<count { s[i] *= s[i].squareRoot().squareRoot() }
    case 1.5: for i in 0..<count { s[i] *= s[i].squareRoot() }
    case 2: for i in 0..<count { s[i] *= s[i] }
    default: for i in 0..<count { s[i] = powf(s[i], exponent) }
    }
    for i in 0..<count {
        // The last guard: a gain is in [floor, 1] whatever the estimates were (NaN from a
        // pathological dictionary included), so finite input can only give finite output.
        let m = s[i]
        let g = m >= floor ? min(m, 1) : floor
        re[i] *= g
        im[i] *= g
    }
}
