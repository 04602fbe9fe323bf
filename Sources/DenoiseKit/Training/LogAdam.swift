import Foundation

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
