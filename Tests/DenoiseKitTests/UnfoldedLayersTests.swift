import Foundation
import Testing
@testable import DenoiseKit

/// The unfolded solve: its forward pass is the solver's, and its gradients are the derivatives.
@Suite struct UnfoldedLayersTests {
    static let (bins, rank, frames) = (7, 4, 5)

    static func layers(seed: UInt64, count: Int) -> UnfoldedLayers {
        let v = randomMatrix(rows: bins, cols: frames, seed: seed, range: 0.1...2)
        let start = randomMatrix(rows: rank, cols: frames, seed: seed + 1, range: 0.2...1)
        let atoms = (0..<count).map { randomMatrix(rows: bins, cols: rank, seed: seed + 2 + UInt64($0), range: 0.1...1) }
        return UnfoldedLayers(v: v, start: start, atoms: atoms, sparsity: 0.05)
    }

    /// L = Σ G ⊙ H_K for a fixed random G: ∂L/∂W_k from `gradients` against central differences,
    /// in every entry of every layer.
    @Test func gradientsMatchFiniteDifferences() {
        var unfolded = Self.layers(seed: 3, count: 3)
        let g = randomMatrix(rows: Self.rank, cols: Self.frames, seed: 9, range: -1...1)
        func loss(_ u: UnfoldedLayers) -> Double {
            var u = u
            let h = u.forward()
            return zip(h.storage, g.storage).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        unfolded.forward()
        let gradients = unfolded.gradients(g)
        var worst = 0.0
        for k in unfolded.atoms.indices {
            for i in 0..<unfolded.atoms[k].count {
                let w = unfolded.atoms[k].storage[i], delta = 1e-3 * w
                var up = unfolded, down = unfolded
                up.atoms[k].storage[i] = w + delta
                down.atoms[k].storage[i] = w - delta
                let numeric = (loss(up) - loss(down)) / (2 * Double(delta))
                let analytic = Double(gradients[k].storage[i])
                worst = max(worst, abs(numeric - analytic) / max(abs(numeric), 0.05))
            }
        }
        #expect(worst < 0.02, "largest relative error of ∂L/∂W: \(worst)")
    }

    /// The solver with layers runs its plain iterations, then one iteration per layer: the same H as
    /// the unfolded layers started from the plain iterations' result.
    @Test func solverLayersMatchTheUnfoldedForwardPass() {
        let w = randomMatrix(rows: Self.bins, cols: Self.rank, seed: 20, range: 0.1...1)
        let v = randomMatrix(rows: Self.bins, cols: Self.frames, seed: 21, range: 0.1...2)
        let trained = (0..<3).map { randomMatrix(rows: Self.bins, cols: Self.rank, seed: 22 + UInt64($0), range: 0.1...1) }
        let solver = ActivationSolver(atoms: w, layers: Matrix.hstack(trained), beta: 1, sparsity: 0.05, iterations: 10, capacity: 8)
        let plain = ActivationSolver(atoms: w, beta: 1, sparsity: 0.05, iterations: 7, capacity: 8)
        var unfolded = UnfoldedLayers(v: v, start: plain.solve(v), atoms: trained, sparsity: 0.05)
        let expected = unfolded.forward(), got = solver.solve(v)
        for (a, b) in zip(expected.storage, got.storage) { #expect(abs(a - b) <= 1e-5 * max(abs(a), 1)) }
        // Fewer iterations than layers: the last layers alone.
        let short = ActivationSolver(atoms: w, layers: Matrix.hstack(trained), beta: 1, sparsity: 0.05, iterations: 2, capacity: 8)
        let zero = ActivationSolver(atoms: w, beta: 1, sparsity: 0.05, iterations: 0, capacity: 8)
        var last = UnfoldedLayers(v: v, start: zero.solve(v), atoms: Array(trained.suffix(2)), sparsity: 0.05)
        let expectedShort = last.forward()
        for (a, b) in zip(expectedShort.storage, short.solve(v).storage) { #expect(abs(a - b) <= 1e-5 * max(abs(a), 1)) }
    }

    /// Adam on logarithms keeps matrices positive and, on a convex bowl, walks to its minimum.
    @Test func logAdamStaysPositiveAndDescends() {
        var adam = LogAdam([Matrix(rows: 2, cols: 1, storage: [4, 0.25])], rate: 0.1)
        for _ in 0..<300 {
            let w = adam.values[0]
            // L = Σ (log w)²: gradient 2·log(w)/w, minimum at w = 1.
            let g = Matrix(rows: 2, cols: 1, storage: w.storage.map { 2 * log($0) / $0 })
            _ = adam.proposal([g])
            adam.accept()
            #expect(adam.values[0].storage.allSatisfy { $0 > 0 })
        }
        for x in adam.values[0].storage { #expect(abs(x - 1) < 0.05, "\(x)") }
    }

    /// Decay pulls the logarithms back toward where they started: on a bowl whose minimum is at
    /// log w = 2, from log w = 0, plain Adam reaches the minimum and decay 1 stops near log w = 1
    /// (where the pull, rate × decay × log w, matches Adam's step of about `rate`).
    @Test func logAdamDecayHoldsTheValuesNearTheirStart() {
        func descend(decay: Float) -> Float {
            var adam = LogAdam([Matrix(rows: 1, cols: 1, storage: [1])], rate: 0.05, decay: decay)
            for _ in 0..<600 {
                let w = adam.values[0].storage[0]
                _ = adam.proposal([Matrix(rows: 1, cols: 1, storage: [2 * (log(w) - 2) / w])])
                adam.accept()
            }
            return log(adam.values[0].storage[0])
        }
        #expect(abs(descend(decay: 0) - 2) < 0.05)
        let held = descend(decay: 1)
        #expect(held > 0.7 && held < 1.3, "\(held)")
    }
}

/// The mask training's cost and its gradient with respect to the activations (what the layers are
/// trained through), for Kullback-Leibler and β = 0.5, against central differences.
@Suite struct MaskGradientTests {
    @Test(arguments: [Float(1), 0.5]) func activationGradientsMatchFiniteDifferences(beta: Float) {
        let (bins, ks, kn, frames) = (6, 3, 2, 4)
        let v = randomMatrix(rows: bins, cols: frames, seed: 30, range: 0.2...2)
        let s = Matrix(rows: bins, cols: frames, storage: zip(v.storage, randomMatrix(rows: bins, cols: frames, seed: 31).storage).map { $0 * $1 })
        let ws = randomMatrix(rows: bins, cols: ks, seed: 32, range: 0.1...1), wn = randomMatrix(rows: bins, cols: kn, seed: 33, range: 0.1...1)
        let hs = randomMatrix(rows: ks, cols: frames, seed: 34, range: 0.1...1), hn = randomMatrix(rows: kn, cols: frames, seed: 35, range: 0.1...1)
        var state = MaskBasisState(v: v, s: s, power: 2, beta: beta, speechRank: ks, noiseRank: kn)
        let (gs, gn) = state.activationGradients(ws, hs, wn, hn)
        var worst = 0.0
        for (isSpeech, h, g) in [(true, hs, gs), (false, hn, gn)] {
            for i in 0..<h.count {
                var up = h, down = h
                let delta = 1e-3 * h.storage[i]
                up.storage[i] += delta
                down.storage[i] -= delta
                let numeric = isSpeech ? (state.cost(ws, up, wn, hn) - state.cost(ws, down, wn, hn)) / (2 * Double(delta))
                                       : (state.cost(ws, hs, wn, up) - state.cost(ws, hs, wn, down)) / (2 * Double(delta))
                worst = max(worst, abs(numeric - Double(g.storage[i])) / max(abs(numeric), 0.01))
            }
        }
        #expect(worst < 0.02, "β = \(beta): largest relative error of ∂L/∂H \(worst)")
    }
}
