import Foundation

/// Solves V ≈ W·H for the activations H ≥ 0 with the dictionary W fixed, by the multiplicative
/// updates of `NMF` restricted to H (each one a majorization-minimization step: the cost never rises).
///
/// The last iterations may use trained atoms of their own (`layers`, see `UnfoldedLayers`): the
/// solve is then a fixed network of multiplicative updates rather than a fit of V ≈ W·H.
///
/// What does not change across iterations is computed once: Wᵀ·1 (β = 1), WᵀW and WᵀV (β = 2).
/// Each frame's activations depend only on that frame, so solving frames in blocks gives the same
/// H as solving the whole signal at once. The solver holds only constants and is shared between
/// threads; each caller solves through a `Scratch` of its own, allocated once for `capacity` frames.
final class ActivationSolver: Sendable {
    let W: Matrix
    /// Atoms of the last `layerCount` iterations, [bins × rank·layerCount], one block per iteration.
    let layers: Matrix
    var layerCount: Int { layers.cols / max(W.cols, 1) }
    let divergence: BetaDivergence
    let sparsity: Float
    let iterations: Int
    let capacity: Int
    /// Threads a block's columns are split between.
    let threads: Int
    var bins: Int { W.rows }
    var rank: Int { W.cols }

    private let denominators: [Float]      // Wᵀ·1 + λ            [rank] (β = 1)
    private let layerDenominators: [Float] // each layer's Wᵀ·1 + λ [rank·layerCount]
    private let atomSum: Float             // Σ Wᵀ·1, for the start
    private let gram: Matrix             // WᵀW             [rank × rank] (β = 2)

    /// A caller's buffers for blocks of up to `capacity` frames.
    final class Scratch {
        let model: UnsafeMutablePointer<Float>     // Λ = W·H     [bins × capacity]
        let negative: UnsafeMutablePointer<Float>  // V ⊙ Λ^(β−2) [bins × capacity]
        let positive: UnsafeMutablePointer<Float>  // Λ^(β−1)     [bins × capacity]
        let numerator: UnsafeMutablePointer<Float>   // [rank × capacity]
        let denominator: UnsafeMutablePointer<Float> // [rank × capacity]

        init(bins: Int, rank: Int, capacity: Int) {
            let big = bins * capacity, small = rank * capacity
            model = .allocate(capacity: big)
            negative = .allocate(capacity: big)
            positive = .allocate(capacity: big)
            numerator = .allocate(capacity: small)
            denominator = .allocate(capacity: small)
        }

        deinit {
            for p in [model, negative, positive, numerator, denominator] { p.deallocate() }
        }
    }

    func makeScratch() -> Scratch { Scratch(bins: bins, rank: rank, capacity: capacity) }

    init(atoms W: Matrix, layers: Matrix? = nil, beta: Float, sparsity: Float, iterations: Int, capacity: Int, threads: Int = 1) {
        precondition(layers.map { $0.rows == W.rows && $0.cols % W.cols == 0 } ?? true, "layers must be blocks of W's shape")
        self.W = W
        self.layers = layers ?? Matrix(rows: W.rows, cols: 0)
        self.threads = max(threads, 1)
        divergence = BetaDivergence(beta: beta)
        self.sparsity = sparsity
        self.iterations = iterations
        self.capacity = capacity
        let sums = DenoiseKit.columnSums(W)
        atomSum = sums.reduce(0, +)
        denominators = BetaDivergence.klDenominators(sums, sparsity: sparsity)
        layerDenominators = BetaDivergence.klDenominators(DenoiseKit.columnSums(self.layers), sparsity: sparsity)
        gram = beta == 2 ? Matrix.product(W, W, transposeA: true) : Matrix(rows: 0, cols: 0)
    }

    /// Solves for `frames` (≤ capacity) columns of `v` [bins × frames], writing `h` [rank × frames].
    ///
    /// With `threads` > 1 the columns are split between threads, each running single-threaded
    /// products on its own columns of the scratch buffers: on small products like these, that uses
    /// the cores better than BLAS's own threads (measured by `make bench`).
    func solve(v: UnsafePointer<Float>, frames n: Int, h: UnsafeMutablePointer<Float>, scratch: Scratch) {
        precondition(n <= capacity)
        let parts = min(threads, n / 32)
        guard parts > 1 else { return solveColumns(v: v, frames: n, h: h, scratch: scratch, offset: 0) }
        // Each worker reads the solver's constants and touches only its own columns.
        let shared = UnsafeSendable((scratch: scratch, v: v, h: h))
        BLAS.withThreads(1) {
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let (scratch, v, h) = shared.value
                let first = n * part / parts, last = n * (part + 1) / parts
                self.solveColumns(v: v + first * self.bins, frames: last - first, h: h + first * self.rank, scratch: scratch, offset: first)
            }
        }
    }

    /// `solve` on columns that use the scratch buffers' columns `offset ..< offset + frames`.
    private func solveColumns(v: UnsafePointer<Float>, frames n: Int, h: UnsafeMutablePointer<Float>, scratch: Scratch, offset: Int) {
        guard n > 0 else { return }
        let bins = self.bins, rank = self.rank, count = bins * n
        let model = scratch.model + offset * bins, negative = scratch.negative + offset * bins, positive = scratch.positive + offset * bins
        let numerator = scratch.numerator + offset * rank, denominator = scratch.denominator + offset * rank
        initialize(v: v, frames: n, h: h)
        W.storage.withUnsafeBufferPointer { pw in
        layers.storage.withUnsafeBufferPointer { pl in
        layerDenominators.withUnsafeBufferPointer { plc in
        denominators.withUnsafeBufferPointer { pcs in
            let plain = pw.baseAddress!
            // Iteration i uses layer i − firstLayer's atoms from firstLayer on.
            let firstLayer = iterations - min(layerCount, iterations), skipped = layerCount - (iterations - firstLayer)
            if divergence.beta == 2 && layerCount == 0 {
                let w = plain
                // Numerator WᵀV is constant; the denominator (WᵀW)·H + λ costs only rank² per frame.
                BLAS.gemm(transA: true, m: rank, n: n, k: bins, a: w, lda: bins, b: v, ldb: bins, c: numerator, ldc: rank)
                gram.storage.withUnsafeBufferPointer { g in
                    for _ in 0..<iterations {
                        BLAS.gemm(m: rank, n: n, k: rank, a: g.baseAddress!, lda: rank, b: h, ldb: rank, c: denominator, ldc: rank)
                        BetaDivergence.addSparsity(sparsity, to: denominator, count: rank * n)
                        divergence.multiplicativeUpdate(h, numerator: numerator, denominator: denominator, count: rank * n)
                    }
                }
                return
            }
            for i in 0..<iterations {
                let layer = i - firstLayer + skipped
                let w = i < firstLayer ? plain : pl.baseAddress! + layer * rank * bins
                let cs = i < firstLayer ? pcs.baseAddress! : plc.baseAddress! + layer * rank
                BLAS.gemm(m: bins, n: n, k: rank, a: w, lda: bins, b: h, ldb: rank, c: model, ldc: bins)
                divergence.gradientParts(v: v, model: model, count: count, negative: negative, positive: positive)
                BLAS.gemm(transA: true, m: rank, n: n, k: bins, a: w, lda: bins, b: negative, ldb: bins, c: numerator, ldc: rank)
                if divergence.needsPositivePart {
                    BLAS.gemm(transA: true, m: rank, n: n, k: bins, a: w, lda: bins, b: positive, ldb: bins, c: denominator, ldc: rank)
                    BetaDivergence.addSparsity(sparsity, to: denominator, count: rank * n)
                    divergence.multiplicativeUpdate(h, numerator: numerator, denominator: denominator, count: rank * n)
                } else {
                    BetaDivergence.klActivationStep(h, numerator: numerator, denominators: cs, rank: rank, frames: n)
                }
            }
        }}}}
    }

    /// H [rank × frames] for all of `v` [bins × frames], solved `capacity` frames at a time.
    func solve(_ v: Matrix) -> Matrix {
        precondition(v.rows == bins)
        var h = Matrix(rows: rank, cols: v.cols)
        let scratch = makeScratch()
        v.storage.withUnsafeBufferPointer { pv in
            h.storage.withUnsafeMutableBufferPointer { ph in
                var first = 0
                while first < v.cols {
                    let n = min(capacity, v.cols - first)
                    solve(v: pv.baseAddress! + first * bins, frames: n, h: ph.baseAddress! + first * rank, scratch: scratch)
                    first += n
                }
            }
        }
        return h
    }

    /// Every activation of a frame starts equal, at the value that makes Σ_f (W·H)_ft = Σ_f V_ft:
    /// a start that depends only on the frame itself and scales with it.
    private func initialize(v: UnsafePointer<Float>, frames n: Int, h: UnsafeMutablePointer<Float>) {
        let total = max(atomSum, BetaDivergence.floor)
        for t in 0..<n {
            let col = v + t * bins
            var s: Float = 0
            for f in 0..<bins { s += col[f] }
            let start = max(s / total, BetaDivergence.floor)
            (h + t * rank).update(repeating: start, count: rank)
        }
    }
}

extension ActivationSolver {
    /// The run-time front end shared by denoising and separation: frames `first ..< first + n` of
    /// `x` (its sample `origin` first) into `re`/`im`, their |X|^exponent floored into `v`, and their
    /// activations into `h`, solved on `bands` (pooled through `pooled`) when given, else on every bin.
    func analyzeAndSolve(_ x: UnsafeBufferPointer<Float>, origin: Int, firstFrame first: Int, count n: Int, stft: STFT,
                         exponent: Float, bands: FrequencyBands?, re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>,
                         v: UnsafeMutablePointer<Float>, pooled: UnsafeMutablePointer<Float>?, h: UnsafeMutablePointer<Float>,
                         fft: STFT.Buffers, scratch: Scratch) {
        let count = stft.bins * n
        stft.analyze(x, origin: origin, firstFrame: first, count: n, re: re, im: im, buffers: fft)
        spectralMagnitude(re: re, im: im, count: count, exponent: exponent, into: v)
        let floor = BetaDivergence.floor
        for i in 0..<count { v[i] = max(v[i], floor) }
        if let bands, let pooled {
            bands.pool(v, frames: n, into: pooled)
            solve(v: pooled, frames: n, h: h, scratch: scratch)
        } else {
            solve(v: v, frames: n, h: h, scratch: scratch)
        }
    }
}
