extension Array where Element == Float {
    /// Cut to `count` samples, or padded with zeros to it.
    mutating func fit(count: Int) {
        if self.count > count { removeLast(self.count - count) }
        if self.count < count { append(contentsOf: repeatElement(0, count: count - self.count)) }
    }
}
