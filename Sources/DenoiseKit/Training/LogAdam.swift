import Foundation

/// Adam (Kingma & Ba 2015) on the logarithms of positive matrices: θ = log W, ∂L/∂θ = W ⊙ ∂L/∂W.
/// `proposal` gives the next matrices without committing; `accept` commits the last proposal.
/// With `decay`, each step also takes `rate × decay` of θ − θ₀ back toward the starting values
/// (decoupled weight decay, Loshchilov & Hutter 2019): a pull toward the starting atoms.
struct LogAdam {
    private(set) var values: [Matrix]
    var rate: Float
    let decay: Float
    private let anchors: [[Float]]
    private var first: [[Float]], second: [[Float]], steps = 0
    private var pending: (values: [Matrix], first: [[Float]], second: [[Float]])?
    static let beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8

    init(_ values: [Matrix], rate: Float, decay: Float = 0) {
        self.values = values
        self.rate = rate
        self.decay = decay
        anchors = decay > 0 ? values.map { $0.storage.map { logf(max($0, BetaDivergence.floor)) } } : []
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
                var update = rate * (m1[k][i] / correction1) / ((m2[k][i] / correction2).squareRoot() + Self.epsilon)
                if decay > 0 { update += rate * decay * (logf(max(w, BetaDivergence.floor)) - anchors[k][i]) }
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
