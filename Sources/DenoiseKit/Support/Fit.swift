extension Array where Element == Float {
    /// Cut to `count` samples, or padded with zeros to it.
    mutating func fit(count: Int) {
        if self.count > count { removeLast(self.count - count) }
        if self.count < count { append(contentsOf: repeatElement(0, count: count - self.count)) }
    }

    /// Appends `samples` made harmless (NaN/Inf → 0, far out of range → clamped): what a stream
    /// does with every push, so no input given to the library can overflow the spectra. (Readers
    /// count and report these repairs; a stream only makes them.)
    mutating func appendRepaired(_ samples: UnsafeBufferPointer<Float>) {
        let start = count
        append(contentsOf: samples)
        var repairs = SampleRepairs()
        if !samples.isEmpty { withUnsafeMutableBufferPointer { repairs.repair($0.baseAddress! + start, count: samples.count) } }
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    /// `count` floats (at least one), zeroed: block working memory.
    static func zeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(count, 1))
        p.initialize(repeating: 0, count: Swift.max(count, 1))
        return p
    }
}
