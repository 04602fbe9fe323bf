/// A value handed to worker threads that use it without overlapping writes (each its own columns
/// of shared buffers): the one place DenoiseKit vouches for such sharing.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
