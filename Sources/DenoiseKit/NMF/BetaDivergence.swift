import Foundation

/// The β-divergence d_β(x | y) between a spectrogram V and its model Λ = W·H.
///
/// β = 2 is the squared Euclidean distance (½(x−y)²), β = 1 the generalized Kullback-Leibler
/// divergence, β = 0 the Itakura-Saito divergence; any β in [0, 2] is supported.
/// The multiplicative updates raise the ratio of the negative and positive parts of the gradient
/// to the power γ(β) (Févotte & Idier 2011), which makes each update a majorization-minimization
/// step, so the cost never increases.
public struct BetaDivergence: Sendable, Equatable {
    public let beta: Float

    /// Values of V and Λ are floored here so that divisions and logarithms stay finite
    /// (digital silence gives V = 0; Itakura-Saito needs V > 0).
    public static let floor: Float = 1e-9

    public static let supportedRange: ClosedRange<Float> = 0...2

    public init(beta: Float) {
        precondition(Self.supportedRange.contains(beta), "β must be in [0, 2]")
        self.beta = beta
    }

    /// The exponent γ(β) of the majorization-minimization update.
    public var updateExponent: Float { beta < 1 ? 1 / (2 - beta) : 1 }

    /// d_β(x | y) for one pair, in double precision (the slow reference is in the tests).
    @inline(__always)
    func elementCost(_ x: Float, _ y: Float) -> Double {
        beta == 2 ? 0.5 * (Double(x) - Double(y)) * (Double(x) - Double(y)) : Self.divergence(Double(x), Double(y), beta: Double(beta))
    }

    /// d_β(x | y): the one element-wise definition (Kullback-Leibler at β = 1, Itakura-Saito at 0,
    /// the general form otherwise, 2 included).
    @inline(__always)
    static func divergence(_ x: Double, _ y: Double, beta b: Double) -> Double {
        switch b {
        case 1: return (x > 0 ? x * log(x / y) : 0) - x + y
        case 0: return x / y - log(x / y) - 1
        default: return (pow(x, b) + (b - 1) * pow(y, b) - b * x * pow(y, b - 1)) / (b * (b - 1))
        }
    }

    /// Σ d_β(V | Λ) over `count` elements.
    public func cost(_ v: UnsafePointer<Float>, _ model: UnsafePointer<Float>, count: Int) -> Double {
        // Four partial sums break the dependency chain so the loop pipelines.
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var i = 0
        while i + 4 <= count {
            s0 += elementCost(v[i], model[i])
            s1 += elementCost(v[i + 1], model[i + 1])
            s2 += elementCost(v[i + 2], model[i + 2])
            s3 += elementCost(v[i + 3], model[i + 3])
            i += 4
        }
        while i < count { s0 += elementCost(v[i], model[i]); i += 1 }
        return (s0 + s1) + (s2 + s3)
    }

    public func cost(_ v: Matrix, _ model: Matrix) -> Double {
        precondition(v.count == model.count)
        return v.storage.withUnsafeBufferPointer { pv in
            model.storage.withUnsafeBufferPointer { pm in cost(pv.baseAddress!, pm.baseAddress!, count: v.count) }
        }
    }

    /// β = 1's denominators Wᵀ1 + λ, one per atom and the same for every frame (floored).
    static func klDenominators(_ columnSums: [Float], sparsity: Float) -> [Float] {
        columnSums.map { max($0 + sparsity, floor) }
    }

    /// β = 1's H step on `frames` frames: H ← H ⊙ Wᵀ(V/Λ) / (Wᵀ1 + λ), with `numerator` = Wᵀ(V/Λ)
    /// [rank × frames] and `denominators` from `klDenominators`. The one rule training, the
    /// fixed-W solve and the unrolled layers share.
    static func klActivationStep(_ h: UnsafeMutablePointer<Float>, numerator: UnsafePointer<Float>,
                                 denominators d: UnsafePointer<Float>, rank: Int, frames: Int) {
        for t in 0..<frames {
            let ht = h + t * rank, nt = numerator + t * rank
            for k in 0..<rank { ht[k] *= nt[k] / d[k] }
        }
    }

    /// den += λ: the L1 penalty's part of every activation's denominator.
    static func addSparsity(_ sparsity: Float, to denominator: UnsafeMutablePointer<Float>, count: Int) {
        if sparsity > 0 { for i in 0..<count { denominator[i] += sparsity } }
    }

    /// `v` with every entry at least `floor`: a spectrogram the divergences and updates can divide by.
    static func floored(_ v: Matrix) -> Matrix {
        var out = v
        for i in out.storage.indices { out.storage[i] = max(out.storage[i], floor) }
        return out
    }

    /// Which gradient parts a β needs materialized. For β = 1 the positive part is all ones
    /// (its product with W or H is a precomputable sum); for β = 2 the negative part is V itself.
    var needsNegativePart: Bool { beta != 2 }
    var needsPositivePart: Bool { beta != 1 }

    /// From V and Λ, writes the negative part A = V ⊙ Λ^(β−2) and the positive
    /// part B = Λ^(β−1) of the gradient, for the β that need them (see `needs…Part`).
    func gradientParts(
        v: UnsafePointer<Float>, model: UnsafeMutablePointer<Float>, count: Int,
        negative a: UnsafeMutablePointer<Float>, positive b: UnsafeMutablePointer<Float>
    ) {
        let tiny = Self.floor
        switch beta {
        case 1:
            for i in 0..<count {
                let m = max(model[i], tiny)
                a[i] = v[i] / m
            }
        case 2:
            break  // A is V and B is Λ itself: nothing to compute.
        case 0:
            for i in 0..<count {
                let r = 1 / max(model[i], tiny)
                b[i] = r
                a[i] = v[i] * r * r
            }
        default:
            let e = beta - 2
            for i in 0..<count {
                let m = max(model[i], tiny)
                let p = powf(m, e)
                a[i] = v[i] * p
                b[i] = p * m
            }
        }
    }

    /// x ← x ⊙ (num / den)^γ, element-wise; denominators are floored so nothing divides by zero.
    func multiplicativeUpdate(
        _ x: UnsafeMutablePointer<Float>, numerator: UnsafePointer<Float>, denominator: UnsafePointer<Float>, count: Int
    ) {
        let g = updateExponent
        let tiny = Self.floor
        if g == 1 {
            for i in 0..<count { x[i] *= numerator[i] / max(denominator[i], tiny) }
        } else if g == 0.5 {
            for i in 0..<count { x[i] *= (numerator[i] / max(denominator[i], tiny)).squareRoot() }
        } else {
            for i in 0..<count { x[i] *= powf(numerator[i] / max(denominator[i], tiny), g) }
        }
    }
}
