import Foundation

/// [rows·frames × T]: for each column t, the columns t + o of `h` for o in the context's offsets,
/// one block of rows per offset, zero where t + o falls outside t's own segment (`lengths` in turn).
func stackContext(_ h: Matrix, lengths: [Int], context: MaskContext) -> Matrix {
    guard context.frames > 1 else { return h }
    let rows = h.rows, out = rows * context.frames
    var stacked = Matrix(rows: out, cols: h.cols)
    // Each column's segment, so that columns can be filled in any order (split between the cores).
    var segments = [Range<Int>](repeating: 0..<0, count: h.cols)
    var start = 0
    for length in lengths {
        for t in start..<(start + length) { segments[t] = start..<(start + length) }
        start += length
    }
    let offsets = Array(context.offsets)
    h.storage.withUnsafeBufferPointer { ph in
        stacked.storage.withUnsafeMutableBufferPointer { ps in
            let shared = UnsafeSendable((ph.baseAddress!, ps.baseAddress!))
            forEachChunk(h.cols, grain: 256) { [segments] _, columns in
                let (h, stacked) = shared.value
                for t in columns {
                    for (block, o) in offsets.enumerated() where segments[t].contains(t + o) {
                        (stacked + t * out + block * rows).update(from: h + (t + o) * rows, count: rows)
                    }
                }
            }
        }
    }
    return stacked
}

/// The adjoint of `stackContext`: adds each block of rows of `g` [rows·frames × T] to the columns
/// t + o it was taken from, at rows `rowOffset ..< rowOffset + rows` of `h`.
func addUnstacked(_ g: Matrix, into h: inout Matrix, rowOffset: Int, lengths: [Int], context: MaskContext) {
    let rows = g.rows / context.frames, stride = h.rows
    g.storage.withUnsafeBufferPointer { pg in
        h.storage.withUnsafeMutableBufferPointer { ph in
            var start = 0
            for length in lengths {
                for t in start..<(start + length) {
                    for (block, o) in context.offsets.enumerated() where (start..<(start + length)).contains(t + o) {
                        let src = t * g.rows + block * rows, dst = (t + o) * stride + rowOffset
                        for r in 0..<rows { ph[dst + r] += pg[src + r] }
                    }
                }
                start += length
            }
        }
    }
}
