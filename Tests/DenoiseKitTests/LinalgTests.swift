import Testing
@testable import DenoiseKit

@Suite struct LinalgTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemmMatchesNaiveProduct(transposeA: Bool, transposeB: Bool) {
        let (m, k, n) = (37, 19, 23)
        let a = randomMatrix(rows: transposeA ? k : m, cols: transposeA ? m : k, seed: 1, range: -1...1)
        let b = randomMatrix(rows: transposeB ? n : k, cols: transposeB ? k : n, seed: 2, range: -1...1)
        let fast = Matrix.product(a, b, transposeA: transposeA, transposeB: transposeB)
        let slow = naiveProduct(a, b, transposeA: transposeA, transposeB: transposeB)
        #expect(fast.rows == m && fast.cols == n)
        let worst = zip(fast.storage, slow.storage).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5)
    }

    @Test func gemmAccumulatesWithAlphaAndBeta() {
        let a = randomMatrix(rows: 5, cols: 4, seed: 3), b = randomMatrix(rows: 4, cols: 6, seed: 4)
        var c = randomMatrix(rows: 5, cols: 6, seed: 5)
        let c0 = c
        Matrix.multiply(a, b, into: &c, alpha: 2, beta: 0.5)
        let ab = naiveProduct(a, b)
        for i in 0..<c.count { #expect(abs(c.storage[i] - (2 * ab.storage[i] + 0.5 * c0.storage[i])) < 1e-5) }
    }

    @Test func matrixLayoutIsColumnMajor() {
        let m = Matrix(rows: 2, cols: 3, storage: [1, 2, 3, 4, 5, 6])
        #expect(m[1, 0] == 2 && m[0, 1] == 3 && m[1, 2] == 6)
        #expect(m.transposed()[2, 1] == 6)
        #expect(Matrix.hstack([m, m.columns(1..<2)]).storage == [1, 2, 3, 4, 5, 6, 3, 4])
    }
}
