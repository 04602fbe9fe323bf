import Testing
@testable import DenoiseKit

@Suite struct SelectionTests {
    /// Every rank of random, tied, constant, sorted and reversed arrays of many lengths is the
    /// sorted array's element there.
    @Test func selectionIsTheSortedElement() {
        var rng = SeededGenerator(seed: 9)
        for n in [1, 2, 3, 5, 8, 17, 64, 301] {
            let random = (0..<n).map { _ in Float(rng.next() % 1000) / 7 }
            let tied = (0..<n).map { _ in Float(rng.next() % 3) }
            let ascending = (0..<n).map(Float.init)
            for input in [random, tied, [Float](repeating: 2, count: n), ascending, Array(ascending.reversed())] {
                let sorted = input.sorted()
                for k in 0..<n {
                    var a = input
                    #expect(a.select(k) == sorted[k], "n \(n), k \(k)")
                    #expect(a.sorted() == sorted)
                }
            }
        }
    }
}
