internal import CSoxr

/// Sample-rate conversion of one channel as its samples arrive, with libsoxr (high quality, linear
/// phase, delay compensated). Whatever the chunking, the output is the same; after `finish` it has
/// exactly round(count · to / from) samples, the signal's length at the new rate.
public final class ResamplerStream {
    public let from: Int
    public let to: Int
    private let soxr: soxr_t?
    private var consumed = 0
    private var produced = 0
    private var scratch: [Float] = []

    public init(from: Int, to: Int) throws(DenoiseError) {
        guard from > 0, to > 0 else { throw .invalidParameter("sample rates must be positive (got \(from) and \(to))") }
        self.from = from
        self.to = to
        guard from != to else { soxr = nil; return }
        var error: soxr_error_t?
        var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
        let s = soxr_create(Double(from), Double(to), 1, &error, nil, &quality, nil)
        if let error { throw .invalidParameter("resampling from \(from) Hz to \(to) Hz failed: \(String(cString: error))") }
        soxr = s
    }

    deinit { if let soxr { soxr_delete(soxr) } }

    /// Converts the next samples; returns the output they complete (soxr holds back its delay).
    public func process(_ input: UnsafeBufferPointer<Float>) -> [Float] {
        consumed += input.count
        guard let soxr else {
            produced += input.count
            return Array(input)
        }
        var out: [Float] = []
        var offset = 0
        // Room for this chunk's share plus what soxr may release from earlier input.
        let room = Int(Double(input.count) * Double(to) / Double(from)) + 1024
        if scratch.count < room { scratch = [Float](repeating: 0, count: room) }
        repeat {
            var used = 0, made = 0
            scratch.withUnsafeMutableBufferPointer { o in
                _ = soxr_process(soxr, input.baseAddress.map { $0 + offset }, input.count - offset, &used,
                                 o.baseAddress, o.count, &made)
                out.append(contentsOf: o[..<made])
            }
            offset += used
            if used == 0, made == 0 { break }
        } while offset < input.count
        produced += out.count
        return out
    }

    /// The rest of the output, trimmed or zero-padded to the converted length of all input.
    public func finish() -> [Float] {
        let total = Int((Double(consumed) * Double(to) / Double(from)).rounded())
        var out: [Float] = []
        if let soxr {
            if scratch.count < 4096 { scratch = [Float](repeating: 0, count: 4096) }
            while produced + out.count < total {
                var made = 0
                scratch.withUnsafeMutableBufferPointer { o in
                    _ = soxr_process(soxr, nil, 0, nil, o.baseAddress, o.count, &made)
                    out.append(contentsOf: o[..<made])
                }
                if made == 0 { break }
            }
        }
        let wanted = max(total - produced, 0)
        if out.count > wanted { out.removeLast(out.count - wanted) }
        if out.count < wanted { out.append(contentsOf: repeatElement(0, count: wanted - out.count)) }
        produced += out.count
        return out
    }
}

public enum Resampler {
    /// `signal` at `from` Hz converted to `to` Hz; the result has round(count · to / from) samples.
    public static func resample(_ signal: [Float], from: Int, to: Int) throws(DenoiseError) -> [Float] {
        guard from != to, !signal.isEmpty else { return signal }
        let stream = try ResamplerStream(from: from, to: to)
        return signal.withUnsafeBufferPointer { stream.process($0) } + stream.finish()
    }

    /// The file `path` (or its first `seconds`, from frame `start`) mixed down to one channel and converted to `rate`:
    /// what every model reads a recording as. Also its information and duration.
    public static func readMono(_ path: String, at rate: Int, from start: Int = 0, seconds: Double? = nil) throws(DenoiseError)
        -> (signal: [Float], info: AudioFileInfo, duration: Double) {
        let (audio, info) = try AudioFile.read(path, from: start, seconds: seconds)
        return (try resample(audio.mixedDown(), from: audio.sampleRate, to: rate), info, audio.duration)
    }
}
