import Foundation

/// Settings of one NMF training run: V ≈ W·H minimizing d_β(V | W·H) + λ·ΣH.
public struct NMFConfiguration: Sendable, Equatable {
    /// Number of dictionary atoms (columns of W).
    public var rank: Int
    /// Upper limit on iterations (one H update and one W update each).
    public var iterations: Int
    /// β of the β-divergence: 2 Euclidean, 1 Kullback-Leibler, 0 Itakura-Saito.
    public var beta: Float
    /// λ ≥ 0, weight of the L1 penalty on H. With λ > 0 the columns of W are normalized inside the
    /// cost (Le Roux et al. 2015, "Sparse NMF – half-baked or well done?") so the penalty cannot be
    /// dodged by scaling W up and H down.
    public var sparsity: Float
    /// Stop once the cost decreases by less than this fraction between checks (0: never stop early).
    public var tolerance: Double
    /// How often (in iterations) the cost is evaluated for the stopping test and progress.
    public var checkInterval: Int
    public var seed: UInt64

    public init(rank: Int, iterations: Int = 200, beta: Float = 1, sparsity: Float = 0,
                tolerance: Double = 1e-4, checkInterval: Int = 10, seed: UInt64 = 0) {
        self.rank = rank
        self.iterations = iterations
        self.beta = beta
        self.sparsity = sparsity
        self.tolerance = tolerance
        self.checkInterval = checkInterval
        self.seed = seed
    }

    /// The legal ranges of every parameter, checked in one place.
    public func validate() throws(DenoiseError) {
        guard rank >= 1 else { throw .invalidParameter("rank must be at least 1 (got \(rank))") }
        guard iterations >= 1 else { throw .invalidParameter("iterations must be at least 1 (got \(iterations))") }
        guard BetaDivergence.supportedRange.contains(beta) else {
            throw .invalidParameter("beta must be between 0 and 2 (got \(beta))")
        }
        guard sparsity >= 0, sparsity.isFinite else {
            throw .invalidParameter("sparsity must be a non-negative number (got \(sparsity))")
        }
        guard tolerance >= 0, tolerance.isFinite else {
            throw .invalidParameter("tolerance must be a non-negative number (got \(tolerance))")
        }
        guard checkInterval >= 1 else { throw .invalidParameter("check interval must be at least 1 (got \(checkInterval))") }
    }
}

/// The outcome of `NMF.factorize`.
public struct NMFResult: Sendable {
    /// [bins × rank], columns of unit Euclidean norm.
    public var W: Matrix
    /// [rank × frames].
    public var H: Matrix
    public var iterations: Int
    /// d_β(V | W·H) + λ·ΣH after the last iteration.
    public var finalCost: Double
    /// The cost after every evaluation, with the iteration it was taken at (iteration 0 = the start).
    public var costs: [(iteration: Int, cost: Double)]
}

/// Offline NMF with multiplicative updates (Lee & Seung; Févotte & Idier for general β).
public enum NMF {
    /// Factorizes `v` [bins × frames] into W [bins × rank] and H [rank × frames].
    ///
    /// - Parameters:
    ///   - progress: called after each cost evaluation with (iteration, cost).
    ///   - fixedAtoms: atoms [bins × k] kept as they are beside the `rank` learned ones
    ///     (semi-supervised NMF): W = [fixedAtoms | learned], and the result's W and H include them.
    ///   - initialAtoms: where the learned atoms start [bins × rank] (default: random frames of V).
    public static func factorize(
        _ v: Matrix, configuration c: NMFConfiguration, fixedAtoms: Matrix? = nil, initialAtoms: Matrix? = nil,
        progress: ((_ iteration: Int, _ cost: Double) -> Void)? = nil
    ) throws(DenoiseError) -> NMFResult {
        try c.validate()
        guard v.cols >= c.rank else {
            throw .invalidParameter("rank \(c.rank) is larger than the number of spectrogram frames (\(v.cols))")
        }
        guard v.rows >= 1 else { throw .invalidParameter("the spectrogram has no frequency bins") }
        if let fixedAtoms, fixedAtoms.rows != v.rows {
            throw .invalidParameter("the fixed atoms have \(fixedAtoms.rows) bins, the spectrogram \(v.rows)")
        }
        if let initialAtoms, initialAtoms.rows != v.rows || initialAtoms.cols != c.rank {
            throw .invalidParameter("the initial atoms are \(initialAtoms.rows) × \(initialAtoms.cols), not \(v.rows) × \(c.rank)")
        }
        var state = Trainer(v: v, configuration: c, fixed: fixedAtoms, initial: initialAtoms)
        return state.run(progress: progress)
    }
}

/// The training loop's state and scratch buffers, all allocated once.
///
/// Frames are processed in column blocks small enough for the model Λ = W·H and the gradient parts
/// to stay in cache, and the blocks are shared between the cores (each with its own scratch and its
/// own W-numerator accumulator, single-threaded BLAS): the full-size Λ is never formed, which
/// also saves 2 bytes·bins·frames·4 of memory. The arithmetic is that of the textbook updates.
private struct Trainer {
    /// Frames per block: the largest, for long inputs (training).
    static let maximumBlockFrames = 256
    /// Fewest frames worth a core of their own: a short input (the pauses of a 10 s file, about
    /// 170 frames) is still split between the cores, in smaller blocks.
    static let minimumShare = 64
    let blockFrames: Int
    let v: Matrix
    let c: NMFConfiguration
    let div: BetaDivergence
    let bins: Int, frames: Int, rank: Int
    /// The first `fixed` columns of W are given and never updated.
    let fixed: Int
    var W: Matrix, H: Matrix
    var numW: Matrix, denW: Matrix   // [bins × rank]
    let workers: [Worker]

    /// One core's scratch: Λ and the gradient parts of a block, and its share of the W numerator
    /// and denominator.
    final class Worker: @unchecked Sendable {
        let model, negative, positive: UnsafeMutablePointer<Float>   // [bins × blockFrames]
        let numH, denH: UnsafeMutablePointer<Float>                  // [rank × blockFrames]
        var numW, denW: Matrix                                       // [bins × rank]
        var cost = 0.0

        init(bins: Int, rank: Int, blockFrames: Int) {
            let big = bins * blockFrames, small = rank * blockFrames
            model = .allocate(capacity: big); negative = .allocate(capacity: big); positive = .allocate(capacity: big)
            numH = .allocate(capacity: small); denH = .allocate(capacity: small)
            numW = Matrix(rows: bins, cols: rank); denW = Matrix(rows: bins, cols: rank)
        }

        deinit { for p in [model, negative, positive, numH, denH] { p.deallocate() } }
    }

    init(v: Matrix, configuration c: NMFConfiguration, fixed fixedAtoms: Matrix?, initial: Matrix?) {
        self.v = v
        self.c = c
        div = BetaDivergence(beta: c.beta)
        fixed = fixedAtoms?.cols ?? 0
        bins = v.rows; frames = v.cols; rank = fixed + c.rank
        (W, H) = Self.initialFactors(v, fixed: fixedAtoms ?? Matrix(rows: v.rows, cols: 0), rank: c.rank, initial: initial, seed: c.seed)
        numW = Matrix(rows: bins, cols: rank); denW = Matrix(rows: bins, cols: rank)
        let cores = min(ProcessInfo.processInfo.activeProcessorCount, max(frames / Self.minimumShare, 1))
        let blockFrames = min(Self.maximumBlockFrames, (frames + cores - 1) / cores)
        self.blockFrames = blockFrames
        workers = (0..<cores).map { [rank] _ in Worker(bins: v.rows, rank: rank, blockFrames: blockFrames) }
    }

    /// W starts from randomly chosen frames of V (plus a little noise so no entry is zero) or from
    /// `initial`, with unit columns, after the fixed atoms; H starts uniform random, scaled so that
    /// W·H has the mean of V.
    static func initialFactors(_ v: Matrix, fixed: Matrix, rank learned: Int, initial: Matrix?, seed: UInt64) -> (Matrix, Matrix) {
        var rng = SeededGenerator(seed: seed)
        let bins = v.rows, frames = v.cols
        let meanV = max(v.storage.reduce(0, +) / Float(max(v.count, 1)), BetaDivergence.floor)
        var free = Matrix(rows: bins, cols: learned)
        for k in 0..<learned {
            let t = Int(rng.next() % UInt64(frames))
            for f in 0..<bins { free[f, k] = initial.map { max($0[f, k], BetaDivergence.floor) } ?? v[f, t] + meanV * (0.1 + rng.nextUnitFloat()) }
        }
        _ = normalizeColumns(&free)
        let W = Matrix.hstack([fixed, free]), rank = W.cols
        var H = Matrix(rows: rank, cols: frames)
        for i in 0..<H.count { H.storage[i] = 0.5 + rng.nextUnitFloat() }
        let model = Matrix.product(W, H)
        let scale = meanV / max(model.storage.reduce(0, +) / Float(model.count), BetaDivergence.floor)
        for i in 0..<H.count { H.storage[i] *= scale }
        return (W, H)
    }

    mutating func run(progress: ((Int, Double) -> Void)?) -> NMFResult {
        BLAS.withThreads(1) { runSingleThreaded(progress: progress) }
    }

    private mutating func runSingleThreaded(progress: ((Int, Double) -> Void)?) -> NMFResult {
        var cost = currentCost()
        var costs = [(iteration: 0, cost: cost)]
        progress?(0, cost)
        var done = 0
        for it in 1...c.iterations {
            updateH()
            updateW()
            done = it
            if it % c.checkInterval == 0 || it == c.iterations {
                let previous = cost
                cost = currentCost()
                costs.append((it, cost))
                progress?(it, cost)
                if c.tolerance > 0, previous - cost < c.tolerance * abs(previous) { break }
            }
        }
        return NMFResult(W: W, H: H, iterations: done, finalCost: cost, costs: costs)
    }

    /// Runs `body(worker, first frame, frame count)` over every block of `frames`, worker w taking
    /// blocks w, w + workers, …: a fixed share, so sums over blocks (and the result) are the same
    /// from run to run. (Static, so that the body cannot touch the trainer while H is borrowed.)
    static func forEachBlock(_ workers: [Worker], frames: Int, blockFrames: Int, _ body: @escaping (Worker, Int, Int) -> Void) {
        let blocks = (frames + blockFrames - 1) / blockFrames
        let task = UnsafeSendable { (w: Int) in
            for b in stride(from: w, to: blocks, by: workers.count) {
                let first = b * blockFrames
                body(workers[w], first, min(blockFrames, frames - first))
            }
        }
        DispatchQueue.concurrentPerform(iterations: workers.count) { task.value($0) }
    }

    /// Λ = W·H for frames `first ..< first + n` into the worker's model buffer.
    static func model(_ worker: Worker, _ w: UnsafePointer<Float>, _ h: UnsafePointer<Float>, bins: Int, rank: Int, _ first: Int, _ n: Int) {
        BLAS.gemm(m: bins, n: n, k: rank, a: w, lda: bins, b: h + first * rank, ldb: rank, c: worker.model, ldc: bins)
    }

    /// d_β(V | W·H) + λ·ΣH, block by block.
    func currentCost() -> Double {
        for worker in workers { worker.cost = 0 }
        W.storage.withUnsafeBufferPointer { pw in
            H.storage.withUnsafeBufferPointer { ph in
                v.storage.withUnsafeBufferPointer { pv in
                    let (w, h, v) = (UnsafeSendable(pw.baseAddress!), UnsafeSendable(ph.baseAddress!), UnsafeSendable(pv.baseAddress!))
                    let (bins, rank, div) = (self.bins, self.rank, self.div)
                    Self.forEachBlock(workers, frames: frames, blockFrames: blockFrames) { worker, first, n in
                        Self.model(worker, w.value, h.value, bins: bins, rank: rank, first, n)
                        worker.cost += div.cost(v.value + first * bins, worker.model, count: bins * n)
                    }
                }
            }
        }
        var cost = workers.reduce(0) { $0 + $1.cost }
        if c.sparsity > 0 { cost += Double(c.sparsity) * H.storage.reduce(0.0) { $0 + Double($1) } }
        return cost
    }

    /// H ← H ⊙ (Wᵀ·A / (Wᵀ·B + λ))^γ, block by block (each frame's update is its own).
    mutating func updateH() {
        let den1 = BetaDivergence.klDenominators(columnSums(W), sparsity: c.sparsity)
        let (rank, bins, div, sparsity, workers, frames) = (self.rank, self.bins, self.div, c.sparsity, self.workers, self.frames)
        W.storage.withUnsafeBufferPointer { pw in
            H.storage.withUnsafeMutableBufferPointer { ph in
                v.storage.withUnsafeBufferPointer { pv in
                    den1.withUnsafeBufferPointer { pd in
                        let (w, h, v, d) = (UnsafeSendable(pw.baseAddress!), UnsafeSendable(ph.baseAddress!),
                                            UnsafeSendable(pv.baseAddress!), UnsafeSendable(pd.baseAddress!))
                        Self.forEachBlock(workers, frames: frames, blockFrames: blockFrames) { worker, first, n in
                            let hb = h.value + first * rank, vb = v.value + first * bins
                            Self.model(worker, w.value, h.value, bins: bins, rank: rank, first, n)
                            div.gradientParts(v: vb, model: worker.model, count: bins * n, negative: worker.negative, positive: worker.positive)
                            let a = div.needsNegativePart ? UnsafePointer(worker.negative) : vb
                            BLAS.gemm(transA: true, m: rank, n: n, k: bins, a: w.value, lda: bins, b: a, ldb: bins, c: worker.numH, ldc: rank)
                            if div.needsPositivePart {
                                let b = div.beta == 2 ? worker.model : worker.positive
                                BLAS.gemm(transA: true, m: rank, n: n, k: bins, a: w.value, lda: bins, b: b, ldb: bins, c: worker.denH, ldc: rank)
                                BetaDivergence.addSparsity(sparsity, to: worker.denH, count: rank * n)
                                div.multiplicativeUpdate(hb, numerator: worker.numH, denominator: worker.denH, count: rank * n)
                            } else {
                                BetaDivergence.klActivationStep(hb, numerator: worker.numH, denominators: d.value, rank: rank, frames: n)
                            }
                        }
                    }
                }
            }
        }
    }

    /// W ← W ⊙ (A·Hᵀ / B·Hᵀ)^γ, then columns renormalized (see `NMFConfiguration.sparsity`).
    /// A·Hᵀ and B·Hᵀ are sums over blocks: each worker accumulates its own, then they are added.
    /// Only the learned columns' parts are computed (the fixed ones' stay 0): for adaptation, 8 of 72.
    mutating func updateW() {
        let (rank, bins, div, workers, frames, fixed) = (self.rank, self.bins, self.div, self.workers, self.frames, self.fixed)
        let learned = rank - fixed
        for worker in workers {
            for i in (fixed * bins)..<worker.numW.count { worker.numW.storage[i] = 0 }
            if div.needsPositivePart { for i in (fixed * bins)..<worker.denW.count { worker.denW.storage[i] = 0 } }
        }
        W.storage.withUnsafeBufferPointer { pw in
            H.storage.withUnsafeBufferPointer { ph in
                v.storage.withUnsafeBufferPointer { pv in
                    let (w, h, v) = (UnsafeSendable(pw.baseAddress!), UnsafeSendable(ph.baseAddress!), UnsafeSendable(pv.baseAddress!))
                    Self.forEachBlock(workers, frames: frames, blockFrames: blockFrames) { worker, first, n in
                        let hb = h.value + first * rank, vb = v.value + first * bins
                        Self.model(worker, w.value, h.value, bins: bins, rank: rank, first, n)
                        div.gradientParts(v: vb, model: worker.model, count: bins * n, negative: worker.negative, positive: worker.positive)
                        let a = div.needsNegativePart ? UnsafePointer(worker.negative) : vb
                        worker.numW.storage.withUnsafeMutableBufferPointer { num in
                            BLAS.gemm(transB: true, m: bins, n: learned, k: n, a: a, lda: bins, b: hb + fixed, ldb: rank,
                                      beta: 1, c: num.baseAddress! + fixed * bins, ldc: bins)
                        }
                        if div.needsPositivePart {
                            let b = div.beta == 2 ? worker.model : worker.positive
                            worker.denW.storage.withUnsafeMutableBufferPointer { den in
                                BLAS.gemm(transB: true, m: bins, n: learned, k: n, a: b, lda: bins, b: hb + fixed, ldb: rank,
                                          beta: 1, c: den.baseAddress! + fixed * bins, ldc: bins)
                            }
                        }
                    }
                }
            }
        }
        sumWorkerParts()
        applyWUpdate()
    }

    /// numW and denW of the learned columns: the workers' partial sums added, in place (for β = 1,
    /// denW is 1·Hᵀ). The fixed columns' entries are never read.
    private mutating func sumWorkerParts() {
        let (rank, bins, fixed, div, workers) = (self.rank, self.bins, self.fixed, self.div, self.workers)
        let learned = (fixed * bins)..<(rank * bins)
        func add(_ parts: KeyPath<Worker, Matrix>, into total: inout Matrix) {
            total.storage.withUnsafeMutableBufferPointer { t in
                workers[0][keyPath: parts].storage.withUnsafeBufferPointer { w in
                    (t.baseAddress! + learned.lowerBound).update(from: w.baseAddress! + learned.lowerBound, count: learned.count)
                }
                for worker in workers.dropFirst() {
                    worker[keyPath: parts].storage.withUnsafeBufferPointer { w in for i in learned { t[i] += w[i] } }
                }
            }
        }
        add(\.numW, into: &numW)
        if div.needsPositivePart {
            add(\.denW, into: &denW)
        } else {
            // β = 1: 1·Hᵀ is the row sums of H, the same for every bin (filled per column, bins × rank).
            var sums = [Float](repeating: 0, count: rank)
            H.storage.withUnsafeBufferPointer { h in
                for t in 0..<frames { for k in fixed..<rank { sums[k] += h[k + t * rank] } }
            }
            denW.storage.withUnsafeMutableBufferPointer { d in
                for k in fixed..<rank { (d.baseAddress! + k * bins).update(repeating: sums[k], count: bins) }
            }
        }
    }

    /// The W step from numW and denW, then unit columns (see `NMFConfiguration.sparsity`).
    private mutating func applyWUpdate() {
        let (rank, bins, frames) = (self.rank, self.bins, self.frames)
        if c.sparsity > 0 {
            // Gradient of the cost through the normalization W/‖W‖ (Le Roux et al. 2015, eq. 21):
            // each column's numerator gains w·(wᵀ·den) and its denominator w·(wᵀ·num).
            W.storage.withUnsafeBufferPointer { pw in
                numW.storage.withUnsafeMutableBufferPointer { pn in
                    denW.storage.withUnsafeMutableBufferPointer { pd in
                        for k in fixed..<rank {
                            let w = pw.baseAddress! + k * bins, n = pn.baseAddress! + k * bins, d = pd.baseAddress! + k * bins
                            var wDen: Float = 0, wNum: Float = 0
                            for f in 0..<bins { wDen += w[f] * d[f]; wNum += w[f] * n[f] }
                            for f in 0..<bins { n[f] += w[f] * wDen; d[f] += w[f] * wNum }
                        }
                    }
                }
            }
            updateLearnedAtoms()
            _ = normalizeColumns(&W, from: fixed)
        } else {
            updateLearnedAtoms()
            // Unit columns with H rescaled to match: W·H and hence the cost are unchanged.
            let norms = normalizeColumns(&W, from: fixed)
            H.storage.withUnsafeMutableBufferPointer { h in
                for t in 0..<frames { for k in fixed..<rank { h[k + t * rank] *= norms[k] } }
            }
        }
    }

    /// W ← W ⊙ (num / den)^γ on the learned columns (the fixed ones come first and stay).
    mutating func updateLearnedAtoms() {
        let offset = fixed * bins, count = W.count - offset
        W.storage.withUnsafeMutableBufferPointer { px in
            numW.storage.withUnsafeBufferPointer { pn in
                denW.storage.withUnsafeBufferPointer { pd in
                    div.multiplicativeUpdate(px.baseAddress! + offset, numerator: pn.baseAddress! + offset,
                                             denominator: pd.baseAddress! + offset, count: count)
                }
            }
        }
    }
}

/// Scales every column of `m` (from column `first` on) to unit Euclidean norm and returns the norms
/// they had (an all-zero column, or one before `first`, is left as it is and reports norm 1).
@discardableResult
func normalizeColumns(_ m: inout Matrix, from first: Int = 0) -> [Float] {
    let rows = m.rows
    var norms = [Float](repeating: 1, count: m.cols)
    m.storage.withUnsafeMutableBufferPointer { p in
        for k in first..<m.cols {
            let col = p.baseAddress! + k * rows
            var s: Float = 0
            for f in 0..<rows { s += col[f] * col[f] }
            let n = s.squareRoot()
            guard n > 0 else { continue }
            norms[k] = n
            let inv = 1 / n
            for f in 0..<rows { col[f] *= inv }
        }
    }
    return norms
}

