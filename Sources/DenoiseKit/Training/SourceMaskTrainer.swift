import Foundation

/// Settings for training separation bases for a set of sources.
public struct SeparationTrainingOptions: Sendable {
    /// Synthetic training mixtures to make, and the length of each in seconds.
    public var mixtures: Int
    public var seconds: Double
    /// Levels in dB of the first source over each other source, used in turn.
    public var levels: [Float]
    /// Multiplicative-update iterations on the bases.
    public var iterations: Int
    /// The run-time settings the bases will be used with (H is solved exactly as `separate` does).
    public var run: SeparatorOptions
    public var seed: UInt64

    public init(mixtures: Int = 60, seconds: Double = 6, levels: [Float] = [-5, 0, 5], iterations: Int = 40,
                run: SeparatorOptions = SeparatorOptions(), seed: UInt64 = 0) {
        self.mixtures = mixtures
        self.seconds = seconds
        self.levels = levels
        self.iterations = iterations
        self.run = run
        self.seed = seed
    }

    public func validate() throws(DenoiseError) {
        try DiscriminativeOptions.validateMixtures(mixtures: mixtures, seconds: seconds, levels: levels, levelName: "level", iterations: iterations)
        try run.validate()
    }
}

/// Discriminative training of separation bases for N sources (Weninger et al. 2014, as
/// `DiscriminativeTrainer` for speech against noise, with every source a target): with H solved as
/// at run time, bases Bᵢ are trained so that each masked mixture matches its clean source,
/// minimizing Σᵢ KL(Xᵢ ‖ Mᵢ⊙V), Mᵢ = aᵢᵖ/Q, aᵢ = Bᵢ·Hᵢ, Q = Σⱼ aⱼᵖ, on mixtures of the sources'
/// training recordings. Its gradient in aᵢ is p·(aᵢ^(p−1)·ΣⱼXⱼ/Q − Xᵢ/aᵢ), so the multiplicative
/// update is Bᵢ ← Bᵢ ⊙ ((Xᵢ/aᵢ)·Hᵢᵀ) / ((aᵢ^(p−1)·ΣX/Q)·Hᵢᵀ); as no majorization backs it, a step
/// that raises the cost is taken back and retried with its exponent halved.
public enum SourceMaskTrainer {
    /// `options.mixtures` mixtures, each an excerpt of a random training recording of every source
    /// (short ones looped to the length), the first source `levels[i]` dB over each other one:
    /// [mixture][source] samples.
    public static func makeMixtures(signals: [[[Float]]], options: SeparationTrainingOptions, sampleRate: Int) -> [[[Float]]] {
        var rng = SeededGenerator(seed: options.seed)
        let length = Int(options.seconds * Double(sampleRate))
        func excerpt(_ x: [Float]) -> [Float] {
            guard !x.isEmpty else { return [Float](repeating: 0, count: length) }
            let start = x.count > length ? Int(rng.next() % UInt64(x.count - length + 1)) : 0
            return (0..<length).map { x[(start + $0) % x.count] }
        }
        func power(_ x: [Float]) -> Double { x.reduce(0.0) { $0 + Double($1 * $1) } }
        return (0..<options.mixtures).map { i in
            let parts = signals.map { files in excerpt(files[Int(rng.next() % UInt64(files.count))]) }
            let reference = power(parts[0])
            return parts.enumerated().map { k, x in
                guard k > 0 else { return x }
                let level = Double(options.levels[(i + k - 1) % options.levels.count]), p = power(x)
                let gain = p > 0 ? Float((reference / p / pow(10, level / 10)).squareRoot()) : 0
                return x.map { $0 * gain }
            }
        }
    }

    /// Trains separation bases for `sources` on `mixtures` ([mixture][source] samples at the
    /// dictionaries' rate); returns the dictionaries carrying them, and the cost at the start and
    /// after each accepted step (never increasing). `progress` gets (step, steps, cost).
    public static func train(sources: [Separator.Source], mixtures: [[[Float]]], options: SeparationTrainingOptions,
                             progress: ((_ step: Int, _ steps: Int, _ cost: Double) -> Void)? = nil)
        throws(DenoiseError) -> (dictionaries: [SpectralDictionary], costs: [Double]) {
        try options.validate()
        guard mixtures.allSatisfy({ $0.count == sources.count }) else {
            throw .invalidParameter("every training mixture needs one signal per source")
        }
        let plain = sources.map { s in
            var d = s.dictionary
            d.separationBases = nil
            return Separator.Source(name: s.name, dictionary: d)
        }
        let separator = try Separator(sources: plain, options: options.run)
        let spectra = try spectrograms(mixtures, dictionary: plain[0].dictionary)
        guard spectra.v.cols > 0 else { throw .noAudio("the training mixtures are empty") }
        let h = separator.activations(spectra.v)
        var state = SeparationState(v: spectra.v, targets: spectra.targets, power: options.run.maskPower,
                                    activations: separator.sources.indices.map { i in h.rows(separator.rowRange(of: i)) })
        var bases = plain.map(\.dictionary.atoms)
        var cost = state.cost(bases)
        var costs = [cost]
        var step: Float = 1
        for i in 0..<options.iterations {
            var accepted = false
            while !accepted, step >= 1.0 / 64 {
                var trial = bases
                state.update(&trial, step: step)
                let c = state.cost(trial)
                if c <= cost { (bases, cost, accepted) = (trial, c, true) } else { step /= 2 }
            }
            guard accepted else { break }
            costs.append(cost)
            progress?(i + 1, options.iterations, cost)
        }
        let set = plain.map(\.dictionary.fingerprint)
        let trained = plain.enumerated().map { i, s in
            var d = s.dictionary
            d.separationBases = .init(bases: bases[i], set: set)
            d.extraMetadata["separation_sources"] = plain.map(\.name).joined(separator: ",")
            d.extraMetadata["separation_training_mixtures"] = String(mixtures.count)
            d.extraMetadata["separation_training_iterations"] = String(options.iterations)
            d.extraMetadata["separation_run_iterations"] = String(options.run.iterations)
            d.extraMetadata["separation_run_bands"] = String(options.run.bands)
            d.extraMetadata["separation_run_sparsity"] = String(options.run.sparsity)
            d.extraMetadata["separation_mask_power"] = String(options.run.maskPower)
            return d
        }
        return (trained, costs)
    }

    /// The mixtures' floored magnitude spectrogram V and each source's Xᵢ, mixtures side by side.
    static func spectrograms(_ mixtures: [[[Float]]], dictionary: SpectralDictionary) throws(DenoiseError) -> (v: Matrix, targets: [Matrix]) {
        let stft = try STFT(dictionary.stft)
        let exponent = dictionary.spectrumExponent
        var vParts: [Matrix] = [], targetParts: [[Matrix]] = Array(repeating: [], count: mixtures.first?.count ?? 0)
        for m in mixtures {
            var sum = [Float](repeating: 0, count: m.map(\.count).max() ?? 0)
            for x in m { for j in x.indices { sum[j] += x[j] } }
            vParts.append(BetaDivergence.floored(stft.forward(sum).magnitude(exponent: exponent)))
            for (k, x) in m.enumerated() { targetParts[k].append(stft.forward(x + repeatElement(0, count: sum.count - x.count)).magnitude(exponent: exponent)) }
        }
        return (Matrix.hstack(vParts), targetParts.map { Matrix.hstack($0) })
    }
}

/// Products and element-wise passes of the separation bases' training.
struct SeparationState {
    let v: Matrix, targets: [Matrix], activations: [Matrix], p: Float
    /// Σᵢ Xᵢ.
    let targetSum: Matrix
    /// aᵢ = Bᵢ·Hᵢ, and scratch for the update's two parts and products.
    var estimates: [Matrix], q: Matrix, negative: Matrix, positive: Matrix

    init(v: Matrix, targets: [Matrix], power: Float, activations: [Matrix]) {
        self.v = v
        self.targets = targets
        self.activations = activations
        p = power
        var sum = Matrix(rows: v.rows, cols: v.cols)
        sum.storage.withUnsafeMutableBufferPointer { ps in
            for x in targets { x.storage.withUnsafeBufferPointer { px in for j in ps.indices { ps[j] += px[j] } } }
        }
        targetSum = sum
        estimates = targets.map { _ in Matrix(rows: v.rows, cols: v.cols) }
        q = sum; negative = sum; positive = sum
    }

    /// aᵢ for every source, and Q = Σ aᵢᵖ.
    mutating func evaluate(_ bases: [Matrix]) {
        for i in bases.indices { Matrix.multiply(bases[i], activations[i], into: &estimates[i]) }
        let p = self.p, count = q.count
        q.storage.withUnsafeMutableBufferPointer { pq in
            let q = pq.baseAddress!
            q.update(repeating: 0, count: count)
            for e in estimates {
                e.storage.withUnsafeBufferPointer { pa in
                    let a = pa.baseAddress!
                    for j in 0..<count { q[j] += Self.power(max(a[j], BetaDivergence.floor), p) }
                }
            }
        }
    }

    @inline(__always) static func power(_ x: Float, _ p: Float) -> Float { p == 2 ? x * x : (p == 1 ? x : powf(x, p)) }

    /// Σᵢ KL(Xᵢ ‖ V·aᵢᵖ/Q).
    mutating func cost(_ bases: [Matrix]) -> Double {
        evaluate(bases)
        let p = self.p, count = v.count
        var total = 0.0
        v.storage.withUnsafeBufferPointer { pv in
        q.storage.withUnsafeBufferPointer { pq in
            for i in estimates.indices {
                estimates[i].storage.withUnsafeBufferPointer { pa in
                targets[i].storage.withUnsafeBufferPointer { px in
                    let shared = UnsafeSendable((pv.baseAddress!, pq.baseAddress!, pa.baseAddress!, px.baseAddress!))
                    let sums = UnsafeSendable(UnsafeMutableBufferPointer<Double>.allocate(capacity: chunkCount(count)))
                    defer { sums.value.deallocate() }
                    forEachChunk(count) { c, range in
                        let (v, q, a, x) = shared.value
                        let floor = Double(BetaDivergence.floor)
                        var sum = 0.0
                        for j in range {
                            let aj = Double(Self.power(max(a[j], BetaDivergence.floor), p))
                            let e = max(Double(v[j]) * aj / Double(max(q[j], BetaDivergence.floor)), floor), xj = Double(x[j])
                            sum += BetaDivergence.divergence(xj, e, beta: 1)
                        }
                        sums.value[c] = sum
                    }
                    total += sums.value.reduce(0, +)
                }}
            }
        }}
        return total
    }

    /// One multiplicative update of each source's bases in turn (each with the others' latest), then
    /// the common scale fixed (the masks do not change when every basis is scaled alike).
    mutating func update(_ bases: inout [Matrix], step: Float) {
        let floor = BetaDivergence.floor, p = self.p, count = v.count
        for i in bases.indices {
            evaluate(bases)
            estimates[i].storage.withUnsafeBufferPointer { pa in
            targets[i].storage.withUnsafeBufferPointer { px in
            targetSum.storage.withUnsafeBufferPointer { psum in
            q.storage.withUnsafeBufferPointer { pq in
            negative.storage.withUnsafeMutableBufferPointer { pn in
            positive.storage.withUnsafeMutableBufferPointer { pp in
                let shared = UnsafeSendable((pa.baseAddress!, px.baseAddress!, psum.baseAddress!, pq.baseAddress!, pn.baseAddress!, pp.baseAddress!))
                forEachChunk(count) { _, range in
                    let (a, x, sum, q, negative, positive) = shared.value
                    for j in range {
                        let aj = max(a[j], floor)
                        negative[j] = x[j] / aj
                        positive[j] = Self.power(aj, p) / aj * sum[j] / max(q[j], floor)
                    }
                }
            }}}}}}
            let numerator = Matrix.product(negative, activations[i], transposeB: true)
            let denominator = Matrix.product(positive, activations[i], transposeB: true)
            bases[i].storage.withUnsafeMutableBufferPointer { pb in
                for j in pb.indices {
                    let r = numerator.storage[j] / max(denominator.storage[j], floor)
                    pb[j] = max(pb[j] * (step == 1 ? r : powf(r, step)), floor)
                }
            }
        }
        var total: Float = 0, entries = 0
        for b in bases { total += b.storage.reduce(0, +); entries += b.count }
        let mean = total / Float(entries)
        guard mean > 0, mean.isFinite else { return }
        let scale = 1 / (mean * Float(v.rows).squareRoot())
        for i in bases.indices { bases[i].storage.withUnsafeMutableBufferPointer { pb in for j in pb.indices { pb[j] *= scale } } }
    }
}
