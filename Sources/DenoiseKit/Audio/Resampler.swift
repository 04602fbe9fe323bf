internal import CSoxr

/// Sample-rate conversion with libsoxr (high quality, linear phase, delay compensated).
public enum Resampler {
    /// `signal` at `from` Hz converted to `to` Hz; the result has round(count · to / from) samples.
    public static func resample(_ signal: [Float], from: Int, to: Int) throws(DenoiseError) -> [Float] {
        guard from != to, !signal.isEmpty else { return signal }
        guard from > 0, to > 0 else { throw .invalidParameter("sample rates must be positive (got \(from) and \(to))") }
        let outCount = Int((Double(signal.count) * Double(to) / Double(from)).rounded())
        var out = [Float](repeating: 0, count: outCount)
        var done = 0
        var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
        let error: soxr_error_t? = signal.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                soxr_oneshot(Double(from), Double(to), 1, input.baseAddress, signal.count, nil,
                             output.baseAddress, outCount, &done, nil, &quality, nil)
            }
        }
        if let error { throw .invalidParameter("resampling from \(from) Hz to \(to) Hz failed: \(String(cString: error))") }
        return out
    }

    /// Every channel of `audio` converted to `rate`.
    public static func resample(_ audio: AudioBuffer, to rate: Int) throws(DenoiseError) -> AudioBuffer {
        guard audio.sampleRate != rate else { return audio }
        var channels: [[Float]] = []
        for c in audio.channels { channels.append(try resample(c, from: audio.sampleRate, to: rate)) }
        return AudioBuffer(sampleRate: rate, channels: channels)
    }
}
