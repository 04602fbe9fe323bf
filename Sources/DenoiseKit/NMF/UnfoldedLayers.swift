import Foundation

/// The last iterations of the activation solve with atoms of their own ("deep NMF": Le Roux,
/// Hershey & Weninger 2015, the multiplicative updates unfolded into layers whose atoms are
/// untied and trained). For β = 1 (Kullback-Leibler), layer k maps H_{k−1} to
///
///     H_k = H_{k−1} ⊙ W_kᵀ(V / (W_k·H_{k−1})) / (W_kᵀ·1 + λ)
///
/// with V [bins × frames] fixed, W_k [bins × rank], H [rank × frames]. `forward` keeps each
/// layer's input; `gradients` back-propagates ∂L/∂H_K through the layers to every ∂L/∂W_k.
struct UnfoldedLayers {
    let v: Matrix
    let sparsity: Float
    /// Each layer's atoms [bins × rank].
    var atoms: [Matrix]
    /// H_0 … H_K after `forward`: the input of each layer, then the output.
    private(set) var activations: [Matrix] = []

    init(v: Matrix, start: Matrix, atoms: [Matrix], sparsity: Float) {
        precondition(atoms.allSatisfy { $0.rows == v.rows && $0.cols == start.rows } && start.cols == v.cols)
        self.v = v
        self.atoms = atoms
        self.sparsity = sparsity
        activations = [start]
    }

    var output: Matrix { activations.last! }

    /// Runs the layers from the start activations; returns H_K.
    @discardableResult
    mutating func forward() -> Matrix {
        let start = activations[0]
        activations = [start]
        var h = start
        var model = Matrix(rows: v.rows, cols: v.cols), numerator = Matrix(rows: h.rows, cols: h.cols)
        for w in atoms {
            let c = BetaDivergence.klDenominators(columnSums(w), sparsity: sparsity)
            Matrix.multiply(w, h, into: &model)
            ratio(&model)
            Matrix.multiply(w, model, into: &numerator, transposeA: true)
            let rank = h.rows
            h.storage.withUnsafeMutableBufferPointer { ph in
                numerator.storage.withUnsafeBufferPointer { pn in
                    c.withUnsafeBufferPointer { pc in
                        let shared = UnsafeSendable((ph.baseAddress!, pn.baseAddress!, pc.baseAddress!))
                        forEachChunk(h.cols, grain: 512) { _, frames in
                            let (h, n, c) = shared.value
                            BetaDivergence.klActivationStep(h + frames.lowerBound * rank, numerator: n + frames.lowerBound * rank,
                                                            denominators: c, rank: rank, frames: frames.count)
                        }
                    }
                }
            }
            activations.append(h)
        }
        return h
    }

    /// model ← V / max(model, floor), in place.
    private func ratio(_ model: inout Matrix) {
        let tiny = BetaDivergence.floor
        v.storage.withUnsafeBufferPointer { pv in
            model.storage.withUnsafeMutableBufferPointer { pm in
                let shared = UnsafeSendable((pv.baseAddress!, pm.baseAddress!))
                forEachChunk(pm.count) { _, range in
                    let (v, m) = shared.value
                    for i in range { m[i] = v[i] / max(m[i], tiny) }
                }
            }
        }
    }

    /// ∂L/∂W_k for every layer, from g = ∂L/∂H_K (after `forward`). With Q = V/Λ, Λ = W·H_{k−1},
    /// N = WᵀQ, c = Wᵀ1 + λ and A = G ⊙ H_{k−1}/c (= ∂L/∂N):
    /// ∂L/∂H_{k−1} = G ⊙ N/c + Wᵀ·∂Λ with ∂Λ = −(W·A) ⊙ Q²/V, and
    /// ∂L/∂W = Q·Aᵀ + ∂Λ·H_{k−1}ᵀ + 1·(∂L/∂c)ᵀ with ∂L/∂c_r = −Σ_t A·N/c.
    func gradients(_ g: Matrix) -> [Matrix] {
        precondition(activations.count == atoms.count + 1, "forward() first")
        let bins = v.rows, frames = v.cols
        var g = g
        var q = Matrix(rows: bins, cols: frames), dq = q
        var n = Matrix(rows: g.rows, cols: frames), a = n, previous = n
        var out = [Matrix](repeating: Matrix(rows: 0, cols: 0), count: atoms.count)
        for k in atoms.indices.reversed() {
            let w = atoms[k], h = activations[k], rank = h.rows
            let c = BetaDivergence.klDenominators(columnSums(w), sparsity: sparsity)
            Matrix.multiply(w, h, into: &q)
            ratio(&q)
            Matrix.multiply(w, q, into: &n, transposeA: true)
            // ∂L/∂c is summed over frames: per piece, then the pieces added.
            let pieces = chunkCount(frames, grain: 512)
            var partial = [Double](repeating: 0, count: rank * pieces)
            g.storage.withUnsafeBufferPointer { pg in
            h.storage.withUnsafeBufferPointer { ph in
            n.storage.withUnsafeBufferPointer { pn in
            a.storage.withUnsafeMutableBufferPointer { pa in
            previous.storage.withUnsafeMutableBufferPointer { pp in
            partial.withUnsafeMutableBufferPointer { pd in
                let shared = UnsafeSendable((pg.baseAddress!, ph.baseAddress!, pn.baseAddress!, pa.baseAddress!, pp.baseAddress!, pd.baseAddress!))
                forEachChunk(frames, grain: 512) { piece, range in
                    let (g, h, n, a, previous, dc) = shared.value
                    let sums = dc + piece * rank
                    for t in range {
                        for r in 0..<rank {
                            let i = t * rank + r
                            a[i] = g[i] * h[i] / c[r]
                            sums[r] -= Double(a[i] * n[i] / c[r])
                            previous[i] = g[i] * n[i] / c[r]
                        }
                    }
                }
            }}}}}}
            let dc = (0..<rank).map { r in (0..<pieces).reduce(0.0) { $0 + partial[$1 * rank + r] } }
            Matrix.multiply(w, a, into: &dq)
            // ∂Λ = −∂Q ⊙ V/Λ² = −∂Q ⊙ Q²/V (V is floored above zero).
            v.storage.withUnsafeBufferPointer { pv in
                q.storage.withUnsafeBufferPointer { pq in
                    dq.storage.withUnsafeMutableBufferPointer { pd in
                        let shared = UnsafeSendable((pv.baseAddress!, pq.baseAddress!, pd.baseAddress!))
                        forEachChunk(pd.count) { _, range in
                            let (v, q, d) = shared.value
                            for i in range { d[i] = -d[i] * q[i] * q[i] / v[i] }
                        }
                    }
                }
            }
            Matrix.multiply(w, dq, into: &previous, transposeA: true, beta: 1)
            var dw = Matrix(rows: bins, cols: rank)
            Matrix.multiply(q, a, into: &dw, transposeB: true)
            Matrix.multiply(dq, h, into: &dw, transposeB: true, beta: 1)
            for r in 0..<rank {
                let d = Float(dc[r])
                for f in 0..<bins { dw.storage[r * bins + f] += d }
            }
            out[k] = dw
            swap(&g, &previous)
        }
        return out
    }
}
