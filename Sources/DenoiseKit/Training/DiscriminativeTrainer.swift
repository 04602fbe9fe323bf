import Foundation

/// Settings for training discriminative reconstruction bases.
public struct DiscriminativeOptions: Sendable {
    /// Synthetic training mixtures to make.
    public var mixtures: Int
    /// Length of each mixture in seconds.
    public var seconds: Double
    /// Speech-to-noise ratios the mixtures are made at, used in turn.
    public var snrs: [Float]
    /// Noise recordings summed in each mixture, each from another group (real backgrounds are
    /// rarely one source); each after the first at a random 0 to 12 dB below the ones before it.
    public var noiseSources: Int
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
    /// Decay of the layers' atoms toward the dictionaries' (decoupled, on their logarithms: each step
    /// takes `layerRate × layerDecay` of the distance back; 0: none).
    public var layerDecay: Float
    public var seed: UInt64

    public init(mixtures: Int = 60, seconds: Double = 6, snrs: [Float] = [-5, 0, 5, 10], noiseSources: Int = 1, iterations: Int = 40,
                run: DenoiserOptions = DenoiserOptions(), context: MaskContext = MaskContext(),
                maskBeta: Float = 1, layers: Int = 0, layerSteps: Int = 60, layerRate: Float = 0.02, layerDecay: Float = 0, seed: UInt64 = 0) {
        self.context = context
        self.maskBeta = maskBeta
        self.layers = layers
        self.layerSteps = layerSteps
        self.layerRate = layerRate
        self.layerDecay = layerDecay
        self.mixtures = mixtures
        self.seconds = seconds
        self.snrs = snrs
        self.noiseSources = noiseSources
        self.iterations = iterations
        self.run = run
        self.seed = seed
    }

    public func validate() throws(DenoiseError) {
        try Self.validateMixtures(mixtures: mixtures, seconds: seconds, levels: snrs, levelName: "SNR", iterations: iterations)
        guard (1...8).contains(noiseSources) else { throw .invalidParameter("noise sources per mixture must be 1 to 8 (got \(noiseSources))") }
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
        guard layerDecay >= 0, layerRate * layerDecay < 1 else {
            throw .invalidParameter("layer decay must be non-negative and below 1 / layer rate (got \(layerDecay))")
        }
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

    /// Makes `options.mixtures` mixtures: a random excerpt of a random speech file plus random
    /// excerpts of noise, each drawn from a random noise group (each group weighs the same; with
    /// several sources per mixture, distinct groups while there are enough), the sum scaled to the
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
        func power(_ x: [Float]) -> Double { x.reduce(0.0) { $0 + Double($1 * $1) } }
        var out: [Mixture] = []
        for i in 0..<options.mixtures {
            let s = excerpt(speech[Int(rng.next() % UInt64(speech.count))])
            var n = [Float](repeating: 0, count: s.count)
            var used: [Int] = []
            for k in 0..<options.noiseSources {
                var g = Int(rng.next() % UInt64(noiseGroups.count))
                while used.contains(g), used.count < noiseGroups.count { g = (g + 1) % noiseGroups.count }
                used.append(g)
                let group = noiseGroups[g]
                let source = excerpt(group[Int(rng.next() % UInt64(group.count))])
                // Loop short noise to the speech's length; later sources sit 0-12 dB below the noise so far.
                var looped = [Float](repeating: 0, count: s.count)
                for j in 0..<s.count { looped[j] = source[j % source.count] }
                var level: Float = 1
                if k > 0 {
                    let below = Double(rng.next() % 1201) / 100, pl = power(looped)
                    level = pl > 0 ? Float((power(n) / pl / pow(10, below / 10)).squareRoot()) : 0
                }
                for j in 0..<s.count { n[j] += level * looped[j] }
            }
            let ps = power(s), pn = power(n)
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
    /// each accepted step (never increasing). The stages: spectrograms → activations as at run
    /// time → bases (multiplicative steps) → layers and bases in turn → the dictionary.
    /// `progress` is called after each step with (step, steps in all, cost).
    public static func train(speech: SpectralDictionary, noise: SpectralDictionary, mixtures: [Mixture],
                             options: DiscriminativeOptions,
                             progress: ((_ step: Int, _ steps: Int, _ cost: Double) -> Void)? = nil)
        throws(DenoiseError) -> (SpectralDictionary, costs: [Double]) {
        try options.validate()
        try Denoiser.checkCompatible([speech, noise])
        let (v, s, lengths) = try spectrograms(mixtures, speech: speech)
        let (h, layers) = try activations(v, speech: speech, noise: noise, options: options)
        var training = MaskBasisTraining(v: v, s: s, h: h, lengths: lengths, speech: speech, noise: noise, options: options)
        let steps = options.iterations + (layers == nil ? 0 : options.layerSteps)
        for i in 0..<options.iterations {
            guard training.maskStep() else { break }
            progress?(i + 1, steps, training.cost)
        }
        let trainedLayers = layers.map { training.trainLayers($0, options: options) { i, cost in progress?(options.iterations + i + 1, steps, cost) } }
        return (package(noise, speech: speech, bases: training, layers: trainedLayers, mixtures: mixtures.count, options: options), training.costs)
    }

    /// The mixtures' floored magnitude spectrograms and their clean speech's, side by side, and each
    /// mixture's frame count.
    static func spectrograms(_ mixtures: [Mixture], speech: SpectralDictionary) throws(DenoiseError) -> (v: Matrix, s: Matrix, lengths: [Int]) {
        let stft = try STFT(speech.stft)
        let exponent = speech.spectrumExponent
        var vParts: [Matrix] = [], sParts: [Matrix] = []
        for m in mixtures {
            vParts.append(BetaDivergence.floored(stft.forward(zip(m.speech, m.noise).map { $0 + $1 }).magnitude(exponent: exponent)))
            sParts.append(stft.forward(m.speech).magnitude(exponent: exponent))
        }
        let v = Matrix.hstack(vParts)
        guard v.cols > 0 else { throw .noAudio("the training mixtures are empty") }
        return (v, Matrix.hstack(sParts), vParts.map(\.cols))
    }

    /// H exactly as at run time: fixed [W_s W_n], same iterations, sparsity and bands; with trained
    /// layers, the plain iterations first and the layers (starting as the plain atoms) after them.
    static func activations(_ v: Matrix, speech: SpectralDictionary, noise: SpectralDictionary,
                            options: DiscriminativeOptions) throws(DenoiseError) -> (Matrix, UnfoldedLayers?) {
        let layerCount = min(options.layers, options.run.iterations)
        guard layerCount > 0 else {
            return (try Denoiser(speech: speech, noise: [noise.withoutMaskBases], options: options.run).activations(v), nil)
        }
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
        let h = unfolded.forward()
        return (h, unfolded)
    }

    /// `noise` carrying the trained bases and layers, with the settings they were trained for.
    static func package(_ noise: SpectralDictionary, speech: SpectralDictionary, bases: MaskBasisTraining, layers: UnfoldedLayers?,
                        mixtures: Int, options: DiscriminativeOptions) -> SpectralDictionary {
        var result = noise
        result.maskBases = .init(noise: bases.wn, speech: bases.ws, speechFingerprint: speech.fingerprint, context: options.context,
                                 layers: layers.map { Matrix.hstack($0.atoms) })
        result.extraMetadata["mask_training_mixtures"] = String(mixtures)
        result.extraMetadata["mask_training_iterations"] = String(options.iterations)
        result.extraMetadata["mask_run_iterations"] = String(options.run.iterations)
        result.extraMetadata["mask_run_sparsity"] = String(options.run.sparsity)
        result.extraMetadata["mask_run_bands"] = String(options.run.bands)
        result.extraMetadata["mask_power"] = String(options.run.maskPower)
        if options.maskBeta != 1 { result.extraMetadata["mask_beta"] = String(options.maskBeta) }
        if layers != nil { result.extraMetadata["solve_layer_steps"] = String(options.layerSteps) }
        if layers != nil, options.layerDecay > 0 { result.extraMetadata["solve_layer_decay"] = String(options.layerDecay) }
        return result
    }
}

/// The mask bases' training: the stacked activations, the bases, the cost and its history, and
/// the steps that lower it.
struct MaskBasisTraining {
    let lengths: [Int], context: MaskContext, speechRank: Int, rank: Int, frames: Int
    var hs: Matrix, hn: Matrix, ws: Matrix, wn: Matrix
    var state: MaskBasisState
    private(set) var cost: Double
    private(set) var costs: [Double]
    /// Whether the state's products are those of (ws, hs, wn, hn): the last cost evaluated was
    /// theirs. Saves recomputing them in the next update or gradient.
    var current = true
    /// The exponent of the multiplicative step, halved each time a step is taken back.
    var step: Float = 1

    init(v: Matrix, s: Matrix, h: Matrix, lengths: [Int], speech: SpectralDictionary, noise: SpectralDictionary, options: DiscriminativeOptions) {
        let context = options.context
        (self.lengths, self.context, speechRank, rank, frames) = (lengths, context, speech.rank, h.rows, h.cols)
        (hs, hn) = Self.stacked(h, speechRank: speech.rank, lengths: lengths, context: context)
        // Every context frame's bases start as the dictionary, the neighbours' weaker.
        func start(_ atoms: Matrix) -> Matrix {
            Matrix.hstack(context.offsets.map { o in Matrix(rows: atoms.rows, cols: atoms.cols, storage: atoms.storage.map { o == 0 ? $0 : $0 / 4 }) })
        }
        (ws, wn) = (start(speech.atoms), start(noise.atoms))
        state = MaskBasisState(v: v, s: s, power: options.run.maskPower, beta: options.maskBeta, speechRank: hs.rows, noiseRank: hn.rows)
        cost = state.cost(ws, hs, wn, hn)
        costs = [cost]
    }

    /// The speech and the noise activations, each frame stacked with its neighbouring frames within
    /// the same mixture.
    static func stacked(_ h: Matrix, speechRank: Int, lengths: [Int], context: MaskContext) -> (speech: Matrix, noise: Matrix) {
        (stackContext(h.rows(0..<speechRank), lengths: lengths, context: context),
         stackContext(h.rows(speechRank..<h.rows), lengths: lengths, context: context))
    }

    func stacked(_ h: Matrix) -> (speech: Matrix, noise: Matrix) { Self.stacked(h, speechRank: speechRank, lengths: lengths, context: context) }

    /// One multiplicative step on the bases. The update is a heuristic here (no majorization), so
    /// each step is checked: a step that raises the cost is taken back and retried with the ratio's
    /// exponent halved. Returns whether a step was taken (and records its cost).
    mutating func maskStep() -> Bool {
        guard takeMaskStep() else { return false }
        costs.append(cost)
        return true
    }

    private mutating func takeMaskStep() -> Bool {
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

    /// The layers' atoms and the bases in turn: a gradient step on the layers (Adam on their
    /// logarithms, so they stay positive; taken back with a smaller rate when the cost rises), then
    /// a step on the bases for the new activations. `progress` gets (step, cost) after each.
    mutating func trainLayers(_ start: UnfoldedLayers, options: DiscriminativeOptions,
                              progress: (_ step: Int, _ cost: Double) -> Void) -> UnfoldedLayers {
        var unfolded = start
        var adam = LogAdam(unfolded.atoms, rate: options.layerRate, decay: options.layerDecay)
        for i in 0..<options.layerSteps {
            let (gs, gn) = state.activationGradients(ws, hs, wn, hn, productsCurrent: current)
            current = true
            var g = Matrix(rows: rank, cols: frames)
            addUnstacked(gs, into: &g, rowOffset: 0, lengths: lengths, context: context)
            addUnstacked(gn, into: &g, rowOffset: speechRank, lengths: lengths, context: context)
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
            let masked = takeMaskStep()
            guard accepted || masked else { break }
            costs.append(cost)
            progress(i, cost)
        }
        return unfolded
    }
}
