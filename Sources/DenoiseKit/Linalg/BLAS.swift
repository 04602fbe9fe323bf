internal import COpenBLAS

/// The one place DenoiseKit calls BLAS. All matrices are column-major.
enum BLAS {
    /// C[m×n] = alpha · op(A) · op(B) + beta · C, where op(A) is [m×k] and op(B) is [k×n].
    /// `lda`, `ldb`, `ldc` are the leading dimensions (row counts) of the stored matrices.
    @inline(__always)
    static func gemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(
            CblasColMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(max(lda, 1)), b, Int32(max(ldb, 1)),
            beta, c, Int32(max(ldc, 1)))
    }

    /// The number of threads OpenBLAS uses for one product.
    static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Runs `body` with OpenBLAS on `threads` threads, restoring the count however `body` ends:
    /// work split between the cores by its own threads runs each product single-threaded.
    static func withThreads<T, E: Error>(_ threads: Int, _ body: () throws(E) -> T) throws(E) -> T {
        let saved = threadCount
        threadCount = threads
        defer { threadCount = saved }
        return try body()
    }
}

extension Matrix {
    /// `C = alpha · op(A) · op(B) + beta · C` through `cblas_sgemm`; C must already have the result's shape.
    public static func multiply(
        _ a: Matrix, _ b: Matrix, into c: inout Matrix,
        transposeA ta: Bool = false, transposeB tb: Bool = false, alpha: Float = 1, beta: Float = 0
    ) {
        let m = ta ? a.cols : a.rows, k = ta ? a.rows : a.cols
        let kb = tb ? b.cols : b.rows, n = tb ? b.rows : b.cols
        precondition(k == kb, "inner dimensions differ: \(k) vs \(kb)")
        precondition(c.rows == m && c.cols == n, "result is \(c.rows)×\(c.cols), expected \(m)×\(n)")
        if k == 0 {
            // BLAS leaves C scaled by beta when the inner dimension is empty; do the same explicitly.
            for i in c.storage.indices { c.storage[i] *= beta }
            return
        }
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    BLAS.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: alpha,
                              a: pa.baseAddress!, lda: a.rows, b: pb.baseAddress!, ldb: b.rows,
                              beta: beta, c: pc.baseAddress!, ldc: c.rows)
                }
            }
        }
    }

    /// `op(A) · op(B)` as a new matrix.
    public static func product(_ a: Matrix, _ b: Matrix, transposeA ta: Bool = false, transposeB tb: Bool = false) -> Matrix {
        var c = Matrix(rows: ta ? a.cols : a.rows, cols: tb ? b.rows : b.cols)
        multiply(a, b, into: &c, transposeA: ta, transposeB: tb)
        return c
    }
}

/// Sets how many threads the matrix products use (1 = single-threaded, for reproducible timing).
public func setLinearAlgebraThreads(_ n: Int) { BLAS.threadCount = n }
