/// Audio in memory: planar Float32 channels of equal length, samples nominally in [−1, 1].
public struct AudioBuffer: Sendable, Equatable {
    public var sampleRate: Int
    public var channels: [[Float]]

    public init(sampleRate: Int, channels: [[Float]]) {
        precondition(channels.allSatisfy { $0.count == channels.first?.count }, "channels must have equal length")
        self.sampleRate = sampleRate
        self.channels = channels
    }

    public init(sampleRate: Int, mono: [Float]) { self.init(sampleRate: sampleRate, channels: [mono]) }

    public var channelCount: Int { channels.count }
    public var frameCount: Int { channels.first?.count ?? 0 }
    public var duration: Double { Double(frameCount) / Double(sampleRate) }

    /// The average of the channels.
    public func mixedDown() -> [Float] {
        guard channels.count > 1 else { return channels.first ?? [] }
        var out = [Float](repeating: 0, count: frameCount)
        let scale = 1 / Float(channels.count)
        for c in channels { for i in 0..<c.count { out[i] += c[i] * scale } }
        return out
    }
}
