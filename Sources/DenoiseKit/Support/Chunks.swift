import Foundation

/// Pieces a pass over `count` items is split into: one per core, for passes of at least `grain`
/// items a piece (smaller ones do not pay for the threads).
func chunkCount(_ count: Int, grain: Int = 65_536) -> Int {
    max(1, min(ProcessInfo.processInfo.activeProcessorCount, count / grain))
}

/// Runs `body` on `chunkCount(count, grain:)` contiguous pieces of 0 ..< count at once, with the
/// piece's index (for per-piece partial results).
func forEachChunk(_ count: Int, grain: Int = 65_536, _ body: @Sendable (_ piece: Int, _ range: Range<Int>) -> Void) {
    let chunks = chunkCount(count, grain: grain)
    DispatchQueue.concurrentPerform(iterations: chunks) { c in body(c, (count * c / chunks)..<(count * (c + 1) / chunks)) }
}
