import Foundation
import Testing
@testable import DenoiseKit

@Suite struct NMFTests {
    static let betas: [Float] = [0, 0.5, 1, 1.5, 2]

    @Test(arguments: betas)
    func divergenceMatchesDoublePrecisionReference(beta: Float) {
        let v = randomMatrix(rows: 31, cols: 17, seed: 1, range: 0.01...3)
        let model = randomMatrix(rows: 31, cols: 17, seed: 2, range: 0.01...3)
        let fast = BetaDivergence(beta: beta).cost(v, model)
        let slow = referenceBetaDivergence(v, model, beta: Double(beta))
        #expect(abs(fast - slow) <= 1e-6 * abs(slow), "β = \(beta): \(fast) vs \(slow)")
        #expect(BetaDivergence(beta: beta).cost(v, v) < 1e-9)
    }

    /// A non-negative low-rank V plus a little positive noise.
    static func lowRankData(bins: Int = 40, frames: Int = 120, rank: Int = 5, seed: UInt64 = 7) -> (Matrix, Matrix, Matrix) {
        var w = randomMatrix(rows: bins, cols: rank, seed: seed)
        // Give each atom a band of its own so the factorization is identifiable.
        for k in 0..<rank { for f in 0..<bins where f / (bins / rank) == k { w[f, k] += 3 } }
        var rng = SeededGenerator(seed: seed + 1)
        var h = Matrix(rows: rank, cols: frames)
        for i in 0..<h.count { let u = rng.nextUnitFloat(); h.storage[i] = u < 0.4 ? 0.01 : 2 * u }
        return (w, h, Matrix.product(w, h))
    }

    @Test(arguments: betas)
    func costNeverIncreases(beta: Float) throws {
        let (_, _, v) = Self.lowRankData()
        let config = NMFConfiguration(rank: 6, iterations: 150, beta: beta, tolerance: 0, checkInterval: 1, seed: 3)
        let result = try NMF.factorize(v, configuration: config)
        #expect(result.costs.count == 151)
        for (a, b) in zip(result.costs, result.costs.dropFirst()) {
            #expect(b.cost <= a.cost * (1 + 1e-6), "β = \(beta): cost rose from \(a.cost) to \(b.cost) at iteration \(b.iteration)")
        }
        #expect(result.costs.last!.cost < 0.2 * result.costs.first!.cost)
    }

    @Test(arguments: [Float(1), 0.5])
    func sparseCostNeverIncreases(beta: Float) throws {
        let (_, _, v) = Self.lowRankData()
        let config = NMFConfiguration(rank: 6, iterations: 150, beta: beta, sparsity: 0.1, tolerance: 0, checkInterval: 1, seed: 3)
        let result = try NMF.factorize(v, configuration: config)
        for (a, b) in zip(result.costs, result.costs.dropFirst()) {
            #expect(b.cost <= a.cost * (1 + 1e-5), "β = \(beta): penalized cost rose from \(a.cost) to \(b.cost) at \(b.iteration)")
        }
        // Atoms stay at unit norm (the normalization is inside the cost).
        for k in 0..<6 {
            let norm = (0..<result.W.rows).reduce(Float(0)) { $0 + result.W[$1, k] * result.W[$1, k] }.squareRoot()
            #expect(abs(norm - 1) < 1e-4)
        }
    }

    @Test(arguments: [Float(1), 2])
    func recoversAKnownFactorization(beta: Float) throws {
        let (w0, _, v) = Self.lowRankData()
        let result = try NMF.factorize(v, configuration: NMFConfiguration(rank: 5, iterations: 1500, beta: beta, tolerance: 0, seed: 11))
        let model = Matrix.product(result.W, result.H)
        let relativeError = zip(model.storage, v.storage).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
            / v.storage.reduce(0.0) { $0 + Double($1 * $1) }
        #expect(relativeError < 1e-3, "relative squared error \(relativeError)")
        // Every true atom is found again (up to order and scale): cosine similarity near 1.
        for k in 0..<5 {
            let truth = (0..<w0.rows).map { w0[$0, k] }
            let best = (0..<5).map { j in cosine(truth, (0..<w0.rows).map { result.W[$0, j] }) }.max()!
            #expect(best > 0.99, "atom \(k): best cosine \(best)")
        }
    }

    @Test(arguments: [Float(0), 1, 2])
    func activationSolveRecoversKnownActivations(beta: Float) {
        var (w, h0, v) = Self.lowRankData()
        _ = normalizeColumns(&w)
        v = Matrix.product(w, h0)
        let solver = ActivationSolver(atoms: w, beta: beta, sparsity: 0, iterations: 2000, capacity: 50)  // several blocks
        let h = solver.solve(v)
        let model = Matrix.product(w, h)
        let err = zip(model.storage, v.storage).map { abs($0 - $1) / max($1, 1e-3) }.max()!
        #expect(err < 0.02, "β = \(beta): worst relative reconstruction error \(err)")
        // V was made from the unit-norm W and h0, so h0 is the truth; the large activations are
        // found (small ones are ill-determined).
        var worst: Float = 0
        for i in 0..<h.count where h0.storage[i] > 0.5 { worst = max(worst, abs(h.storage[i] - h0.storage[i]) / h0.storage[i]) }
        #expect(worst < 0.05, "β = \(beta): worst relative activation error \(worst)")
    }

    /// Semi-supervised NMF: with some true atoms given and kept fixed, the others are learned, the
    /// cost never rises and the given atoms come back untouched.
    @Test(arguments: [Float(1), 0.5])
    func learnsTheAtomsBesideFixedOnes(beta: Float) throws {
        let (w0, _, v) = Self.lowRankData()
        var fixed = w0.columns(0..<3)
        _ = normalizeColumns(&fixed)
        let config = NMFConfiguration(rank: 2, iterations: 1500, beta: beta, tolerance: 0, checkInterval: 1, seed: 4)
        let result = try NMF.factorize(v, configuration: config, fixedAtoms: fixed)
        #expect(result.W.columns(0..<3) == fixed)
        for (a, b) in zip(result.costs, result.costs.dropFirst()) {
            #expect(b.cost <= a.cost * (1 + 1e-6), "β = \(beta): cost rose from \(a.cost) to \(b.cost) at \(b.iteration)")
        }
        for k in 3..<5 {
            let truth = (0..<w0.rows).map { w0[$0, k] }
            let best = (3..<5).map { j in cosine(truth, (0..<w0.rows).map { result.W[$0, j] }) }.max()!
            #expect(best > 0.99, "atom \(k): best cosine \(best)")
        }
        // Started from the true atoms, the learned ones fit sooner than from random frames.
        let short = NMFConfiguration(rank: 2, iterations: 20, beta: beta, tolerance: 0, seed: 4)
        let started = try NMF.factorize(v, configuration: short, fixedAtoms: fixed, initialAtoms: w0.columns(3..<5))
        let random = try NMF.factorize(v, configuration: short, fixedAtoms: fixed)
        #expect(started.finalCost < 0.5 * random.finalCost, "\(started.finalCost) vs \(random.finalCost)")
        #expect(throws: DenoiseError.invalidParameter("the initial atoms are 40 × 3, not 40 × 2")) {
            try NMF.factorize(v, configuration: config, fixedAtoms: fixed, initialAtoms: w0.columns(0..<3))
        }
    }

    @Test func rejectsInvalidConfigurations() {
        let v = randomMatrix(rows: 10, cols: 5, seed: 1)
        #expect(throws: DenoiseError.invalidParameter("rank must be at least 1 (got 0)")) {
            try NMF.factorize(v, configuration: NMFConfiguration(rank: 0))
        }
        #expect(throws: DenoiseError.invalidParameter("rank 6 is larger than the number of spectrogram frames (5)")) {
            try NMF.factorize(v, configuration: NMFConfiguration(rank: 6))
        }
        #expect(throws: DenoiseError.invalidParameter("beta must be between 0 and 2 (got 3.0)")) {
            try NMF.factorize(v, configuration: NMFConfiguration(rank: 2, beta: 3))
        }
    }

    @Test func trainingIsDeterministicForASeed() throws {
        let (_, _, v) = Self.lowRankData()
        let a = try NMF.factorize(v, configuration: NMFConfiguration(rank: 4, iterations: 20, seed: 5))
        let b = try NMF.factorize(v, configuration: NMFConfiguration(rank: 4, iterations: 20, seed: 5))
        #expect(a.W == b.W && a.H == b.H)
    }
}

func cosine(_ a: [Float], _ b: [Float]) -> Float {
    let dot = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
    let na = a.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot(), nb = b.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
    return dot / max(na * nb, 1e-30)
}
