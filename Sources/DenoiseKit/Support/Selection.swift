extension Array where Element == Float {
    /// The element that would be at index `k` if the array were sorted ascending (Hoare's selection:
    /// O(n) on average instead of a sort's O(n log n)); reorders the array. `k` must be a valid index
    /// and the elements not NaN.
    mutating func select(_ k: Int) -> Float {
        precondition(indices.contains(k), "selection index \(k) out of 0..<\(count)")
        var lo = 0, hi = count - 1
        return withUnsafeMutableBufferPointer { a in
            while lo < hi {
                // Median of three as the pivot: sorted or constant rows stay linear.
                let mid = lo + (hi - lo) / 2
                let pivot = Swift.max(Swift.min(a[lo], a[mid]), Swift.min(Swift.max(a[lo], a[mid]), a[hi]))
                var i = lo, j = hi
                while i <= j {
                    while a[i] < pivot { i += 1 }
                    while a[j] > pivot { j -= 1 }
                    if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
                }
                if k <= j { hi = j } else if k >= i { lo = i } else { break }
            }
            return a[k]
        }
    }
}

extension Matrix {
    /// Per row, the value at `quantile` of its columns: the `Int(cols · quantile)`-th smallest
    /// (clamped to the row). The matrix must have a column and no NaN.
    func rowQuantiles(_ quantile: Double) -> [Float] {
        let rank = Swift.min(Swift.max(Int(Double(cols) * quantile), 0), cols - 1)
        var row = [Float](repeating: 0, count: cols)
        return (0..<rows).map { f in
            for t in 0..<cols { row[t] = storage[t * rows + f] }
            return row.select(rank)
        }
    }
}
