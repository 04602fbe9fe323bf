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
    /// The run-time settings the bases will be used with (H is solved exactly as at run time); the
    /// mask they are trained through is the Wiener mask (p = 2) by default, which `run` sharpens.
    public var run: DenoiserOptions
    /// Frames around each frame whose activations build its mask.
    public var context: MaskContext
    public var seed: UInt64

    public init(mixtures: Int = 60, seconds: Double = 6, snrs: [Float] = [-5, 0, 5, 10], iterations: Int = 40,
                run: DenoiserOptions = DenoiserOptions(maskPower: 2), context: MaskContext = MaskContext(), seed: UInt64 = 0) {
        self.context = context
        self.mixtures = mixtures
        self.seconds = seconds
        self.snrs = snrs
        self.iterations = iterations
        self.run = run
        self.seed = seed
    }

    public func validate() throws(DenoiseError) {
        guard mixtures >= 1 else { throw .invalidParameter("mixtures must be at least 1 (got \(mixtures))") }
        guard seconds > 0, seconds <= 600 else { throw .invalidParameter("mixture length must be in (0, 600] seconds (got \(seconds))") }
        guard !snrs.isEmpty, snrs.allSatisfy({ $0.isFinite }) else { throw .invalidParameter("at least one finite SNR is needed") }
        guard iterations >= 1 else { throw .invalidParameter("iterations must be at least 1 (got \(iterations))") }
        guard (0...MaskContext.limit).contains(context.past), (0...MaskContext.limit).contains(context.future) else {
            throw .invalidParameter("mask context must be 0 to \(MaskContext.limit) frames each way (got \(context.past) past, \(context.future) future)")
        }
        try run.validate()
    }
}

/// Discriminative training of the mask's reconstruction bases (Weninger, Le Roux, Hershey &
/// Watanabe 2014). At run time H is still solved with the ordinary dictionaries; the mask is then
/// built from a second set of bases W̃ = [W̃_s W̃_n], trained here so that the *masked mixture*
/// matches the clean speech: minimize KL(S ‖ M ⊙ V) with M = aᵖ/(aᵖ + bᵖ), a = W̃_s·H_s,
/// b = W̃_n·H_n, on mixtures made from training speech and noise.
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
            let (audio, _) = try AudioFile.read(file)
            out.append(try Resampler.resample(audio.mixedDown(), from: audio.sampleRate, to: sampleRate))
        }
        return out
    }

    /// Trains mask bases for `noise` used with `speech` on `mixtures`; returns `noise` carrying them,
    /// and the cost KL(S ‖ M⊙V) at the start and after each accepted iteration (never increasing).
    public static func train(speech: SpectralDictionary, noise: SpectralDictionary, mixtures: [Mixture],
                             options: DiscriminativeOptions) throws(DenoiseError) -> (SpectralDictionary, costs: [Double]) {
        try options.validate()
        try Denoiser.checkCompatible([speech, noise])
        let stft = try STFT(speech.stft)
        let exponent = speech.spectrumExponent
        // Mixture and clean-speech spectrograms, all mixtures side by side.
        var vParts: [Matrix] = [], sParts: [Matrix] = []
        for m in mixtures {
            let mix = zip(m.speech, m.noise).map { $0 + $1 }
            var v = stft.forward(mix).magnitude(exponent: exponent)
            for i in v.storage.indices { v.storage[i] = max(v.storage[i], BetaDivergence.floor) }
            vParts.append(v)
            sParts.append(stft.forward(m.speech).magnitude(exponent: exponent))
        }
        let v = Matrix.hstack(vParts), s = Matrix.hstack(sParts)
        guard v.cols > 0 else { throw .noAudio("the training mixtures are empty") }

        // H exactly as at run time: fixed [W_s W_n], same iterations, sparsity and bands.
        let w = Matrix.hstack([speech.atoms, noise.atoms])
        var plain = noise
        plain.maskBases = nil
        let h = try Denoiser(speech: speech, noise: [plain], options: options.run).activations(v)
        let ks = speech.rank
        // H's rows split into speech and noise activations (rows = columns of Hᵀ), each stacked with
        // its neighbouring frames within the same mixture.
        let ht = h.transposed()
        let lengths = vParts.map(\.cols), context = options.context
        let hs = stackContext(ht.columns(0..<ks).transposed(), lengths: lengths, context: context)
        let hn = stackContext(ht.columns(ks..<w.cols).transposed(), lengths: lengths, context: context)
        // Every context frame's bases start as the dictionary, the neighbours' weaker.
        func start(_ atoms: Matrix) -> Matrix {
            Matrix.hstack(context.offsets.map { o in Matrix(rows: atoms.rows, cols: atoms.cols, storage: atoms.storage.map { o == 0 ? $0 : $0 / 4 }) })
        }
        var ws = start(speech.atoms), wn = start(noise.atoms)
        var costs: [Double] = []
        var state = MaskBasisState(v: v, s: s, power: options.run.maskPower, speechRank: hs.rows, noiseRank: hn.rows)
        costs.append(state.cost(ws, hs, wn, hn))
        // The multiplicative update is a heuristic here (no majorization), so each step is checked:
        // a step that raises the cost is taken back and retried with the ratio's exponent halved.
        var step: Float = 1
        var cost = costs[0]
        for _ in 0..<options.iterations {
            var accepted = false
            while !accepted, step >= 1.0 / 64 {
                var (cs, cn) = (ws, wn)
                state.update(&cs, &cn, hs, hn, step: step)
                let c = state.cost(cs, hs, cn, hn)
                if c <= cost {
                    (ws, wn, cost, accepted) = (cs, cn, c, true)
                } else {
                    step /= 2
                }
            }
            guard accepted else { break }
            costs.append(cost)
        }
        var result = noise
        result.maskBases = .init(noise: wn, speech: ws, speechFingerprint: speech.fingerprint, context: context)
        result.extraMetadata["mask_training_mixtures"] = String(mixtures.count)
        result.extraMetadata["mask_training_iterations"] = String(options.iterations)
        result.extraMetadata["mask_run_iterations"] = String(options.run.iterations)
        result.extraMetadata["mask_run_sparsity"] = String(options.run.sparsity)
        result.extraMetadata["mask_run_bands"] = String(options.run.bands)
        result.extraMetadata["mask_power"] = String(options.run.maskPower)
        return (result, costs)
    }
}

/// [rows·frames × T]: for each column t, the columns t + o of `h` for o in the context's offsets,
/// one block of rows per offset, zero where t + o falls outside t's own segment (`lengths` in turn).
func stackContext(_ h: Matrix, lengths: [Int], context: MaskContext) -> Matrix {
    guard context.frames > 1 else { return h }
    let rows = h.rows, out = rows * context.frames
    var stacked = Matrix(rows: out, cols: h.cols)
    var start = 0
    for length in lengths {
        for t in start..<(start + length) {
            for (block, o) in context.offsets.enumerated() where (start..<(start + length)).contains(t + o) {
                for r in 0..<rows { stacked.storage[t * out + block * rows + r] = h.storage[(t + o) * rows + r] }
            }
        }
        start += length
    }
    return stacked
}

/// Scratch and update rules for the mask bases.
private struct MaskBasisState {
    let v: Matrix, s: Matrix, p: Float
    var a: Matrix, b: Matrix, num: Matrix, den: Matrix
    var numWs: Matrix, denWs: Matrix, numWn: Matrix, denWn: Matrix

    init(v: Matrix, s: Matrix, power: Float, speechRank: Int, noiseRank: Int) {
        self.v = v
        self.s = s
        p = power
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

    @inline(__always) func power(_ x: Float) -> Float { p == 2 ? x * x : (p == 1 ? x : powf(x, p)) }

    /// KL(S ‖ M⊙V) for the current bases.
    mutating func cost(_ ws: Matrix, _ hs: Matrix, _ wn: Matrix, _ hn: Matrix) -> Double {
        Matrix.multiply(ws, hs, into: &a)
        Matrix.multiply(wn, hn, into: &b)
        var total = 0.0
        let tiny = BetaDivergence.floor
        for i in 0..<v.count {
            let ap = power(max(a.storage[i], tiny)), bp = power(max(b.storage[i], tiny))
            let estimate = Double(max(v.storage[i] * ap / (ap + bp), tiny))
            let x = Double(s.storage[i])
            total += (x > 0 ? x * log(x / estimate) : 0) - x + estimate
        }
        return total
    }

    /// One multiplicative update of W̃_s, then of W̃_n (gradients derived in the type's comment).
    /// The element-wise parts are evaluated in double precision: Q² spans far more than Float's range.
    mutating func update(_ ws: inout Matrix, _ wn: inout Matrix, _ hs: Matrix, _ hn: Matrix, step: Float) {
        let tiny = Double(BetaDivergence.floor), pd = Double(p)
        @inline(__always) func pow_(_ x: Double) -> Double { pd == 2 ? x * x : (pd == 1 ? x : Foundation.pow(x, pd)) }
        for speechStep in [true, false] {
            Matrix.multiply(ws, hs, into: &a)
            Matrix.multiply(wn, hn, into: &b)
            for i in 0..<v.count {
                let ai = max(Double(a.storage[i]), tiny), bi = max(Double(b.storage[i]), tiny)
                let ap = pow_(ai), bp = pow_(bi), q = ap + bp
                let vi = Double(v.storage[i]), si = Double(s.storage[i])
                if speechStep {
                    // ∂D/∂a ∝ V·a^(p−1)·bᵖ/Q² − S·bᵖ/(a·Q)
                    num.storage[i] = Float(si * bp / (ai * q))
                    den.storage[i] = Float(vi * ap * bp / (ai * q * q))
                } else {
                    // ∂D/∂b ∝ S·b^(p−1)/Q − V·aᵖ·b^(p−1)/Q²
                    num.storage[i] = Float(vi * ap * bp / (bi * q * q))
                    den.storage[i] = Float(si * bp / (bi * q))
                }
            }
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
