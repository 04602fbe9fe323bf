import Foundation

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
