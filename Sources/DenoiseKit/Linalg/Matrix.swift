/// A dense Float32 matrix in **column-major** order: element (r, c) is `values[r + c * rows]`.
/// Outside the library it is read through `values` and the subscript; its storage is the library's.
///
/// Throughout DenoiseKit a spectrogram V is [bins × frames], a dictionary W is [bins × rank] and
/// activations H are [rank × frames], so V ≈ W·H and one frame (or one atom) is one contiguous column.
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    var storage: [Float]

    /// Every element, column after column.
    public var values: [Float] { storage }

    public init(rows: Int, cols: Int, repeating value: Float = 0) {
        precondition(rows >= 0 && cols >= 0, "matrix dimensions must be non-negative")
        self.rows = rows
        self.cols = cols
        self.storage = [Float](repeating: value, count: rows * cols)
    }

    /// Wraps column-major `storage`; its count must be `rows * cols`.
    public init(rows: Int, cols: Int, storage: [Float]) {
        precondition(storage.count == rows * cols, "storage has \(storage.count) elements, expected \(rows * cols)")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    public subscript(row: Int, col: Int) -> Float {
        get { storage[row + col * rows] }
        set { storage[row + col * rows] = newValue }
    }

    public var count: Int { storage.count }

    /// The transpose, materialized (used off the hot path: file formats, tests).
    public func transposed() -> Matrix {
        var t = Matrix(rows: cols, cols: rows)
        storage.withUnsafeBufferPointer { src in
            t.storage.withUnsafeMutableBufferPointer { dst in
                for c in 0..<cols {
                    for r in 0..<rows { dst[c + r * cols] = src[r + c * rows] }
                }
            }
        }
        return t
    }

    /// Columns `range` as a new matrix (contiguous copy).
    public func columns(_ range: Range<Int>) -> Matrix {
        Matrix(rows: rows, cols: range.count, storage: Array(storage[(range.lowerBound * rows)..<(range.upperBound * rows)]))
    }

    /// The columns at `indices`, in that order, as a new matrix.
    public func columns(at indices: [Int]) -> Matrix {
        var out = Matrix(rows: rows, cols: indices.count)
        for (j, c) in indices.enumerated() {
            for r in 0..<rows { out.storage[j * rows + r] = storage[c * rows + r] }
        }
        return out
    }

    /// Rows `range` as a new matrix.
    public func rows(_ range: Range<Int>) -> Matrix {
        var out = Matrix(rows: range.count, cols: cols)
        storage.withUnsafeBufferPointer { src in
            out.storage.withUnsafeMutableBufferPointer { dst in
                for c in 0..<cols {
                    for r in 0..<range.count { dst[c * range.count + r] = src[c * rows + range.lowerBound + r] }
                }
            }
        }
        return out
    }

    /// Matrices with equal row counts placed side by side: [A B …].
    public static func hstack(_ parts: [Matrix]) -> Matrix {
        guard let first = parts.first else { return Matrix(rows: 0, cols: 0) }
        precondition(parts.allSatisfy { $0.rows == first.rows }, "hstack needs equal row counts")
        var storage: [Float] = []
        storage.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for p in parts { storage.append(contentsOf: p.storage) }
        return Matrix(rows: first.rows, cols: parts.reduce(0) { $0 + $1.cols }, storage: storage)
    }
}

/// Σ over rows of each column: [cols].
func columnSums(_ m: Matrix) -> [Float] {
    var sums = [Float](repeating: 0, count: m.cols)
    m.storage.withUnsafeBufferPointer { p in
        for k in 0..<m.cols {
            var s: Float = 0
            for f in 0..<m.rows { s += p[f + k * m.rows] }
            sums[k] = s
        }
    }
    return sums
}

/// Σ over columns of each row: [rows].
func rowSums(_ m: Matrix) -> [Float] {
    var sums = [Float](repeating: 0, count: m.rows)
    m.storage.withUnsafeBufferPointer { p in
        sums.withUnsafeMutableBufferPointer { s in
            for t in 0..<m.cols { for k in 0..<m.rows { s[k] += p[k + t * m.rows] } }
        }
    }
    return sums
}
