import Foundation

/// Settings for training discriminative reconstruction bases.
public struct DiscriminativeOptions: Sendable {
    /// Synthetic training mixtures to make.
    public var mixtures: Int
    /// Length of each mixture in seconds.
    public var seconds: Double
    /// Speech-to-noise ratios the mixtures are made at, used in turn.
    public var snrs: [Float]
    /// Multiplicative-update iterations on the bases.
    public var iterations: Int
    /// The run-time settings the bases will be used with (H is solved exactly as at run time),
    /// including the mask they are trained through (the Wiener mask, p = 2, by default).
    public var run: DenoiserOptions
    /// Frames around each frame whose activations build its mask.
    public var context: MaskContext
    /// β of the divergence between the clean speech and the masked mixture (1: Kullback-Leibler; smaller
    /// values weigh quiet bins more).
    public var maskBeta: Float
    /// Last iterations of the activation solve given atoms of their own, trained with the bases
    /// (0: the solve keeps the dictionaries' atoms throughout).
    public var layers: Int
    /// Alternating steps on the layers and the bases, after the bases' own `iterations`.
    public var layerSteps: Int
    /// Adam's step on the logarithms of the layers' atoms.
    public var layerRate: Float
    public var seed: UInt64

    public init(mixtures: Int = 60, seconds: Double = 6, snrs: [Float] = [-5, 0, 5, 10], iterations: Int = 40,
                run: DenoiserOptions = DenoiserOptions(), context: MaskContext = MaskContext(),
                maskBeta: Float = 1, layers: Int = 0, layerSteps: Int = 60, layerRate: Float = 0.02, seed: UInt64 = 0) {
        self.context = context
        self.maskBeta = maskBeta
        self.layers = layers
        self.layerSteps = layerSteps
        self.layerRate = layerRate
        self.mixtures = mixtures
        self.seconds = seconds
        self.snrs = snrs
        self.iterations = iterations
        self.run = run
        self.seed = seed
    }

    public func validate() throws(DenoiseError) {
        try Self.validateMixtures(mixtures: mixtures, seconds: seconds, levels: snrs, levelName: "SNR", iterations: iterations)
        guard (0...MaskContext.limit).contains(context.past), (0...MaskContext.limit).contains(context.future) else {
            throw .invalidParameter("mask context must be 0 to \(MaskContext.limit) frames each way (got \(context.past) past, \(context.future) future)")
        }
        guard (0...run.iterations).contains(layers) else {
            throw .invalidParameter("solve layers must be between 0 and the run's \(run.iterations) iterations (got \(layers))")
        }
        guard BetaDivergence.supportedRange.contains(maskBeta) else {
            throw .invalidParameter("mask beta must be in [0, 2] (got \(maskBeta))")
        }
        guard layerSteps >= 0 else { throw .invalidParameter("layer steps must be non-negative (got \(layerSteps))") }
        guard layerRate > 0, layerRate <= 1 else { throw .invalidParameter("layer rate must be in (0, 1] (got \(layerRate))") }
        try run.validate()
    }
}

extension DiscriminativeOptions {
    /// The checks the training mixtures of both discriminative trainers share.
    static func validateMixtures(mixtures: Int, seconds: Double, levels: [Float], levelName: String, iterations: Int) throws(DenoiseError) {
        guard mixtures >= 1 else { throw .invalidParameter("mixtures must be at least 1 (got \(mixtures))") }
        guard seconds > 0, seconds <= 600 else { throw .invalidParameter("mixture length must be in (0, 600] seconds (got \(seconds))") }
        guard !levels.isEmpty, levels.allSatisfy({ $0.isFinite }) else { throw .invalidParameter("at least one finite \(levelName) is needed") }
        guard iterations >= 1 else { throw .invalidParameter("iterations must be at least 1 (got \(iterations))") }
    }
}

/// Discriminative training of the mask's reconstruction bases (Weninger, Le Roux, Hershey &
/// Watanabe 2014). At run time H is still solved with the ordinary dictionaries; the mask is then
/// built from a second set of bases W̃ = [W̃_s W̃_n], trained here so that the *masked mixture*
/// matches the clean speech: minimize d_β(S ‖ M ⊙ V) (Kullback-Leibler by default) with
/// M = aᵖ/(aᵖ + bᵖ), a = W̃_s·H_s, b = W̃_n·H_n, on mixtures made from training speech and noise.
/// Optionally the solve's last iterations get atoms of their own trained to the same end
/// (`UnfoldedLayers`: deep NMF, Le Roux, Hershey & Weninger 2015).
public enum DiscriminativeTrainer {
    /// A mixture's clean speech and noise, both at the model's sample rate.
    public struct Mixture: Sendable {
        public var speech: [Float]
        public var noise: [Float]
    }

    /// Makes `options.mixtures` mixtures: a random excerpt of a random speech file plus a random
    /// excerpt of noise, drawn from a random noise group (each group weighs the same), scaled to the
    /// SNRs in turn.
    public static func makeMixtures(speech: [[Float]], noiseGroups: [[[Float]]], options: DiscriminativeOptions,
                                    sampleRate: Int) -> [Mixture] {
        var rng = SeededGenerator(seed: options.seed)
        let length = Int(options.seconds * Double(sampleRate))
        func excerpt(_ x: [Float]) -> [Float] {
            guard x.count > length else { return x }
            let start = Int(rng.next() % UInt64(x.count - length + 1))
            return Array(x[start..<(start + length)])
        }
        var out: [Mixture] = []
        for i in 0..<options.mixtures {
            let s = excerpt(speech[Int(rng.next() % UInt64(speech.count))])
            let group = noiseGroups[Int(rng.next() % UInt64(noiseGroups.count))]
            let source = excerpt(group[Int(rng.next() % UInt64(group.count))])
            // Loop short noise to the speech's length.
            var n = [Float](repeating: 0, count: s.count)
            for j in 0..<s.count { n[j] = source[j % source.count] }
            let ps = s.reduce(0.0) { $0 + Double($1 * $1) }, pn = n.reduce(0.0) { $0 + Double($1 * $1) }
            let snr = Double(options.snrs[i % options.snrs.count])
            let gain = pn > 0 ? Float((ps / pn / pow(10, snr / 10)).squareRoot()) : 0
            out.append(Mixture(speech: s, noise: n.map { $0 * gain }))
        }
        return out
    }

    /// Every audio file under `inputs`, mixed down and resampled to `sampleRate`.
    public static func loadSignals(_ inputs: [String], sampleRate: Int) throws(DenoiseError) -> [[Float]] {
        var out: [[Float]] = []
        for file in try DictionaryTrainer.audioFiles(in: inputs) {
            out.append(try Resampler.readMono(file, at: sampleRate).signal)
        }
        return out
    }

    /// Trains mask bases (and with `options.layers`, solve layers) for `noise` used with `speech` on
    /// `mixtures`; returns `noise` carrying them, and the cost d_β(S ‖ M⊙V) at the start and after
    /// each accepted step (never increasing).
    /// `progress` is called after each step with (step, steps in all, cost).
    public static func train(speech: SpectralDictionary, noise: SpectralDictionary, mixtures: [Mixture],
                             options: DiscriminativeOptions,
                             progress: ((_ step: Int, _ steps: Int, _ cost: Double) -> Void)? = nil)
        throws(DenoiseError) -> (SpectralDictionary, costs: [Double]) {
        try options.validate()
        try Denoiser.checkCompatible([speech, noise])
        let stft = try STFT(speech.stft)
        let exponent = speech.spectrumExponent
        // Mixture and clean-speech spectrograms, all mixtures side by side.
        var vParts: [Matrix] = [], sParts: [Matrix] = []
        for m in mixtures {
            vParts.append(BetaDivergence.floored(stft.forward(zip(m.speech, m.noise).map { $0 + $1 }).magnitude(exponent: exponent)))
            sParts.append(stft.forward(m.speech).magnitude(exponent: exponent))
        }
        let v = Matrix.hstack(vParts), s = Matrix.hstack(sParts)
        guard v.cols > 0 else { throw .noAudio("the training mixtures are empty") }

        // H exactly as at run time: fixed [W_s W_n], same iterations, sparsity and bands; with trained
        // layers, the plain iterations first and the layers (starting as the plain atoms) after them.
        let plain = noise.withoutMaskBases
        let layerCount = min(options.layers, options.run.iterations)
        var layers: UnfoldedLayers?
        let h: Matrix
        if layerCount > 0 {
            guard speech.beta == 1, noise.beta == 1 else {
                throw .invalidParameter("trained solve layers need dictionaries trained with beta 1 (got \(speech.beta) and \(noise.beta))")
            }
            let bands = Denoiser.solveBands(speech: speech, options: options.run)
            let vb = bands?.pool(v) ?? v, atoms = Matrix.hstack([speech.atoms, noise.atoms])
            let solveAtoms = bands?.pool(atoms) ?? atoms
            let plainSolve = ActivationSolver(atoms: solveAtoms, beta: 1, sparsity: options.run.sparsity,
                                              iterations: options.run.iterations - layerCount, capacity: options.run.blockFrames,
                                              threads: options.run.threads)
            var unfolded = UnfoldedLayers(v: vb, start: plainSolve.solve(vb), atoms: Array(repeating: solveAtoms, count: layerCount),
                                          sparsity: options.run.sparsity)
            h = unfolded.forward()
            layers = unfolded
        } else {
            h = try Denoiser(speech: speech, noise: [plain], options: options.run).activations(v)
        }
        let ks = speech.rank, rank = h.rows
        let lengths = vParts.map(\.cols), context = options.context
        // The speech and the noise activations, each frame stacked with its neighbouring frames
        // within the same mixture.
        func stacked(_ h: Matrix) -> (speech: Matrix, noise: Matrix) {
            (stackContext(h.rows(0..<ks), lengths: lengths, context: context),
             stackContext(h.rows(ks..<rank), lengths: lengths, context: context))
        }
        var (hs, hn) = stacked(h)
        // Every context frame's bases start as the dictionary, the neighbours' weaker.
        func start(_ atoms: Matrix) -> Matrix {
            Matrix.hstack(context.offsets.map { o in Matrix(rows: atoms.rows, cols: atoms.cols, storage: atoms.storage.map { o == 0 ? $0 : $0 / 4 }) })
        }
        var ws = start(speech.atoms), wn = start(noise.atoms)
        var costs: [Double] = []
        var state = MaskBasisState(v: v, s: s, power: options.run.maskPower, beta: options.maskBeta, speechRank: hs.rows, noiseRank: hn.rows)
        var cost = state.cost(ws, hs, wn, hn)
        costs.append(cost)
        // Whether the state's products are those of (ws, hs, wn, hn): the last cost evaluated was
        // theirs. Saves recomputing them in the next update or gradient.
        var current = true
        // The multiplicative update is a heuristic here (no majorization), so each step is checked:
        // a step that raises the cost is taken back and retried with the ratio's exponent halved.
        var step: Float = 1
        func maskStep() -> Bool {
            while step >= 1.0 / 64 {
                var (cs, cn) = (ws, wn)
                state.update(&cs, &cn, hs, hn, step: step, productsCurrent: current)
                let c = state.cost(cs, hs, cn, hn)
                current = c <= cost
                if current {
                    (ws, wn, cost) = (cs, cn, c)
                    return true
                }
                step /= 2
            }
            return false
        }
        let steps = options.iterations + (layers == nil ? 0 : options.layerSteps)
        for i in 0..<options.iterations {
            guard maskStep() else { break }
            costs.append(cost)
            progress?(i + 1, steps, cost)
        }
        // Then the layers' atoms and the bases in turn: a gradient step on the layers (Adam on their
        // logarithms, so they stay positive; taken back with a smaller rate when the cost rises),
        // then a step on the bases for the new activations.
        if var unfolded = layers {
            var adam = LogAdam(unfolded.atoms, rate: options.layerRate)
            for i in 0..<options.layerSteps {
                let (gs, gn) = state.activationGradients(ws, hs, wn, hn, productsCurrent: current)
                current = true
                var g = Matrix(rows: rank, cols: h.cols)
                addUnstacked(gs, into: &g, rowOffset: 0, lengths: lengths, context: context)
                addUnstacked(gn, into: &g, rowOffset: ks, lengths: lengths, context: context)
                let gradients = unfolded.gradients(g)
                var accepted = false
                while !accepted, adam.rate >= options.layerRate / 64 {
                    var trial = unfolded
                    trial.atoms = adam.proposal(gradients)
                    (hs, hn) = stacked(trial.forward())
                    let c = state.cost(ws, hs, wn, hn)
                    current = c <= cost
                    if current {
                        adam.accept()
                        (unfolded, cost, accepted) = (trial, c, true)
                    } else {
                        adam.rate /= 2
                    }
                }
                if !accepted { (hs, hn) = stacked(unfolded.output) }
                let masked = maskStep()
                guard accepted || masked else { break }
                costs.append(cost)
                progress?(options.iterations + i + 1, steps, cost)
            }
            layers = unfolded
        }
        var result = noise
        result.maskBases = .init(noise: wn, speech: ws, speechFingerprint: speech.fingerprint, context: context,
                                 layers: layers.map { Matrix.hstack($0.atoms) })
        result.extraMetadata["mask_training_mixtures"] = String(mixtures.count)
        result.extraMetadata["mask_training_iterations"] = String(options.iterations)
        result.extraMetadata["mask_run_iterations"] = String(options.run.iterations)
        result.extraMetadata["mask_run_sparsity"] = String(options.run.sparsity)
        result.extraMetadata["mask_run_bands"] = String(options.run.bands)
        result.extraMetadata["mask_power"] = String(options.run.maskPower)
        if options.maskBeta != 1 { result.extraMetadata["mask_beta"] = String(options.maskBeta) }
        if layerCount > 0 { result.extraMetadata["solve_layer_steps"] = String(options.layerSteps) }
        return (result, costs)
    }
}

/// [rows·frames × T]: for each column t, the columns t + o of `h` for o in the context's offsets,
/// one block of rows per offset, zero where t + o falls outside t's own segment (`lengths` in turn).
func stackContext(_ h: Matrix, lengths: [Int], context: MaskContext) -> Matrix {
    guard context.frames > 1 else { return h }
    let rows = h.rows, out = rows * context.frames
    var stacked = Matrix(rows: out, cols: h.cols)
    // Each column's segment, so that columns can be filled in any order (split between the cores).
    var segments = [Range<Int>](repeating: 0..<0, count: h.cols)
    var start = 0
    for length in lengths {
        for t in start..<(start + length) { segments[t] = start..<(start + length) }
        start += length
    }
    let offsets = Array(context.offsets)
    h.storage.withUnsafeBufferPointer { ph in
        stacked.storage.withUnsafeMutableBufferPointer { ps in
            let shared = UnsafeSendable((ph.baseAddress!, ps.baseAddress!))
            forEachChunk(h.cols, grain: 256) { [segments] _, columns in
                let (h, stacked) = shared.value
                for t in columns {
                    for (block, o) in offsets.enumerated() where segments[t].contains(t + o) {
                        (stacked + t * out + block * rows).update(from: h + (t + o) * rows, count: rows)
                    }
                }
            }
        }
    }
    return stacked
}

/// The adjoint of `stackContext`: adds each block of rows of `g` [rows·frames × T] to the columns
/// t + o it was taken from, at rows `rowOffset ..< rowOffset + rows` of `h`.
func addUnstacked(_ g: Matrix, into h: inout Matrix, rowOffset: Int, lengths: [Int], context: MaskContext) {
    let rows = g.rows / context.frames, stride = h.rows
    g.storage.withUnsafeBufferPointer { pg in
        h.storage.withUnsafeMutableBufferPointer { ph in
            var start = 0
            for length in lengths {
                for t in start..<(start + length) {
                    for (block, o) in context.offsets.enumerated() where (start..<(start + length)).contains(t + o) {
                        let src = t * g.rows + block * rows, dst = (t + o) * stride + rowOffset
                        for r in 0..<rows { ph[dst + r] += pg[src + r] }
                    }
                }
                start += length
            }
        }
    }
}

/// Adam (Kingma & Ba 2015) on the logarithms of positive matrices: θ = log W, ∂L/∂θ = W ⊙ ∂L/∂W.
/// `proposal` gives the next matrices without committing; `accept` commits the last proposal.
struct LogAdam {
    private(set) var values: [Matrix]
    var rate: Float
    private var first: [[Float]], second: [[Float]], steps = 0
    private var pending: (values: [Matrix], first: [[Float]], second: [[Float]])?
    static let beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8

    init(_ values: [Matrix], rate: Float) {
        self.values = values
        self.rate = rate
        first = values.map { [Float](repeating: 0, count: $0.count) }
        second = first
    }

    mutating func proposal(_ gradients: [Matrix]) -> [Matrix] {
        let t = Float(steps + 1), b1 = Self.beta1, b2 = Self.beta2
        let correction1 = 1 - powf(b1, t), correction2 = 1 - powf(b2, t)
        var next = values, m1 = first, m2 = second
        for k in values.indices {
            for i in 0..<values[k].count {
                let w = values[k].storage[i], g = w * gradients[k].storage[i]
                m1[k][i] = b1 * m1[k][i] + (1 - b1) * g
                m2[k][i] = b2 * m2[k][i] + (1 - b2) * g * g
                let update = rate * (m1[k][i] / correction1) / ((m2[k][i] / correction2).squareRoot() + Self.epsilon)
                next[k].storage[i] = max(w * expf(-update), BetaDivergence.floor)
            }
        }
        pending = (next, m1, m2)
        return next
    }

    mutating func accept() {
        guard let pending else { return }
        (values, first, second) = pending
        self.pending = nil
        steps += 1
    }
}

/// Scratch and update rules for the mask bases.
struct MaskBasisState {
    let v: Matrix, s: Matrix, p: Float
    /// β of the divergence d_β(S ‖ M⊙V) that is minimized (1: Kullback-Leibler).
    let beta: Double
    var a: Matrix, b: Matrix, num: Matrix, den: Matrix
    var numWs: Matrix, denWs: Matrix, numWn: Matrix, denWn: Matrix

    init(v: Matrix, s: Matrix, power: Float, beta: Float, speechRank: Int, noiseRank: Int) {
        self.v = v
        self.s = s
        p = power
        self.beta = Double(beta)
        a = Matrix(rows: v.rows, cols: v.cols); b = a; num = a; den = a
        numWs = Matrix(rows: v.rows, cols: speechRank); denWs = numWs
        numWn = Matrix(rows: v.rows, cols: noiseRank); denWn = numWn
    }

    /// w ← max(w ⊙ (num / den)^step, floor).
    static func apply(_ w: inout Matrix, _ num: Matrix, _ den: Matrix, step: Float) {
        let floor = BetaDivergence.floor
        for i in 0..<w.count {
            let r = num.storage[i] / max(den.storage[i], floor)
            w.storage[i] = max(w.storage[i] * (step == 1 ? r : powf(r, step)), floor)
        }
    }

    /// The negative and positive parts of ∂L/∂a and of ∂L/∂b at one element (without the factor p),
    /// for a = W̃_s·H_s and b = W̃_n·H_n. With E = V·aᵖ/Q, Q = aᵖ + bᵖ: ∂L/∂E = E^(β−1) − S·E^(β−2),
    /// ∂E/∂a = V·a^(p−1)·bᵖ/Q², ∂E/∂b = −V·aᵖ·b^(p−1)/Q². Evaluated in double precision: Q² spans
    /// far more than Float's range.
    @inline(__always)
    static func gradientParts(a: Float, b: Float, v: Float, s: Float, p: Double, beta: Double)
        -> (speechNegative: Double, speechPositive: Double, noiseNegative: Double, noisePositive: Double) {
        let tiny = Double(BetaDivergence.floor)
        let ai = max(Double(a), tiny), bi = max(Double(b), tiny)
        let ap = power(ai, p), bp = power(bi, p), q = ap + bp
        let vi = Double(v), si = Double(s)
        let g = vi * ap * bp / (q * q)
        if beta == 1 {
            // E^(β−1) = 1 and S·E^(β−2) = S·Q/(V·aᵖ), simplified so that nothing divides by E.
            return (si * bp / (ai * q), g / ai, g / bi, si * bp / (bi * q))
        }
        let e = max(vi * ap / q, tiny), x = max(si, tiny)
        let positive = Foundation.pow(e, beta - 1), negative = x * Foundation.pow(e, beta - 2)
        return (negative * g / ai, positive * g / ai, positive * g / bi, negative * g / bi)
    }

    @inline(__always) static func power(_ x: Double, _ p: Double) -> Double { p == 2 ? x * x : (p == 1 ? x : Foundation.pow(x, p)) }

    /// d_β(S ‖ E) at one element, E = V·aᵖ/(aᵖ + bᵖ).
    @inline(__always) static func elementCost(a: Float, b: Float, v: Float, s: Float, p: Double, beta: Double) -> Double {
        let tiny = Double(BetaDivergence.floor)
        let ap = power(max(Double(a), tiny), p), bp = power(max(Double(b), tiny), p)
        let e = max(Double(v) * ap / (ap + bp), tiny), x = Double(s)
        // Itakura-Saito needs a positive target too.
        return BetaDivergence.divergence(beta == 0 ? max(x, tiny) : x, e, beta: beta)
    }

    /// What an element-wise pass writes to `num` and `den`.
    enum Pass { case speechUpdate, noiseUpdate, gradients }

    /// One pass over every element of a and b (already computed), split between the cores: these
    /// passes cost as much as the products otherwise. `gradients` writes p·(positive − negative) of
    /// ∂L/∂a to `num` and of ∂L/∂b to `den`; the updates write the negative and positive parts.
    mutating func pass(_ pass: Pass) {
        let p = Double(self.p), beta = self.beta
        a.storage.withUnsafeBufferPointer { pa in
        b.storage.withUnsafeBufferPointer { pb in
        v.storage.withUnsafeBufferPointer { pv in
        s.storage.withUnsafeBufferPointer { ps in
        num.storage.withUnsafeMutableBufferPointer { pnum in
        den.storage.withUnsafeMutableBufferPointer { pden in
            let shared = UnsafeSendable((pa.baseAddress!, pb.baseAddress!, pv.baseAddress!, ps.baseAddress!, pnum.baseAddress!, pden.baseAddress!))
            forEachChunk(pa.count) { _, range in
                let (a, b, v, s, num, den) = shared.value
                for i in range {
                    let g = Self.gradientParts(a: a[i], b: b[i], v: v[i], s: s[i], p: p, beta: beta)
                    switch pass {
                    case .speechUpdate: num[i] = Float(g.speechNegative); den[i] = Float(g.speechPositive)
                    case .noiseUpdate: num[i] = Float(g.noiseNegative); den[i] = Float(g.noisePositive)
                    case .gradients:
                        num[i] = Float(p * (g.speechPositive - g.speechNegative))
                        den[i] = Float(p * (g.noisePositive - g.noiseNegative))
                    }
                }
            }
        }}}}}}
    }

    /// d_β(S ‖ M⊙V) for the current bases; leaves a and b holding their products.
    mutating func cost(_ ws: Matrix, _ hs: Matrix, _ wn: Matrix, _ hn: Matrix) -> Double {
        Matrix.multiply(ws, hs, into: &a)
        Matrix.multiply(wn, hn, into: &b)
        let p = Double(self.p), beta = self.beta
        let sums = UnsafeSendable(UnsafeMutableBufferPointer<Double>.allocate(capacity: chunkCount(v.count)))
        defer { sums.value.deallocate() }
        a.storage.withUnsafeBufferPointer { pa in
        b.storage.withUnsafeBufferPointer { pb in
        v.storage.withUnsafeBufferPointer { pv in
        s.storage.withUnsafeBufferPointer { ps in
            let shared = UnsafeSendable((pa.baseAddress!, pb.baseAddress!, pv.baseAddress!, ps.baseAddress!))
            forEachChunk(pa.count) { c, range in
                let (a, b, v, s) = shared.value
                var total = 0.0
                for i in range { total += Self.elementCost(a: a[i], b: b[i], v: v[i], s: s[i], p: p, beta: beta) }
                sums.value[c] = total
            }
        }}}}
        return sums.value.reduce(0, +)
    }

    /// ∂L/∂(stacked speech activations) and ∂L/∂(stacked noise activations) of L = d_β(S ‖ M⊙V):
    /// W̃_sᵀ·∂L/∂a and W̃_nᵀ·∂L/∂b, each ∂ = p·(positive − negative part).
    mutating func activationGradients(_ ws: Matrix, _ hs: Matrix, _ wn: Matrix, _ hn: Matrix, productsCurrent: Bool = false) -> (Matrix, Matrix) {
        if !productsCurrent {
            Matrix.multiply(ws, hs, into: &a)
            Matrix.multiply(wn, hn, into: &b)
        }
        pass(.gradients)
        var gs = Matrix(rows: hs.rows, cols: hs.cols), gn = Matrix(rows: hn.rows, cols: hn.cols)
        Matrix.multiply(ws, num, into: &gs, transposeA: true)
        Matrix.multiply(wn, den, into: &gn, transposeA: true)
        return (gs, gn)
    }

    /// One multiplicative update of W̃_s, then of W̃_n: each ⊙ (negative part·Hᵀ)/(positive part·Hᵀ).
    /// `productsCurrent`: a and b already hold W̃_s·H_s and W̃_n·H_n (the last `cost` was of these).
    mutating func update(_ ws: inout Matrix, _ wn: inout Matrix, _ hs: Matrix, _ hn: Matrix, step: Float, productsCurrent: Bool = false) {
        for speechStep in [true, false] {
            // b = W̃_n·H_n is still current for the noise step: only W̃_s has changed.
            if !speechStep || !productsCurrent { Matrix.multiply(ws, hs, into: &a) }
            if speechStep && !productsCurrent { Matrix.multiply(wn, hn, into: &b) }
            pass(speechStep ? .speechUpdate : .noiseUpdate)
            if speechStep {
                Matrix.multiply(num, hs, into: &numWs, transposeB: true)
                Matrix.multiply(den, hs, into: &denWs, transposeB: true)
                Self.apply(&ws, numWs, denWs, step: step)
            } else {
                Matrix.multiply(num, hn, into: &numWn, transposeB: true)
                Matrix.multiply(den, hn, into: &denWn, transposeB: true)
                Self.apply(&wn, numWn, denWn, step: step)
            }
        }
        // The mask is unchanged when both sets are scaled alike: keep their overall scale fixed so
        // the multiplicative steps cannot drift towards overflow.
        let total = (ws.storage.reduce(0, +) + wn.storage.reduce(0, +)) / Float(ws.count + wn.count)
        if total > 0, total.isFinite {
            let scale = 1 / (total * Float(ws.rows).squareRoot())
            for i in 0..<ws.count { ws.storage[i] *= scale }
            for i in 0..<wn.count { wn.storage[i] *= scale }
        }
    }
}
