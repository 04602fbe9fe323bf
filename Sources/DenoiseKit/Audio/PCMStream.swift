import Foundation

/// Interleaved audio read in chunks: a file (`AudioFileReader`) or a pipe (`PCMStreamReader`).
public protocol AudioSource: AnyObject {
    var sampleRate: Int { get }
    var channelCount: Int { get }
    /// Reads up to `frames` interleaved frames; returns how many (0 at the end). NaN/Inf become 0,
    /// far out-of-range samples are clamped (see `SampleRepairs`).
    func read(into buffer: UnsafeMutablePointer<Float>, frames: Int) -> Int
    var repairs: SampleRepairs { get }
}

/// Interleaved audio written in chunks: a file (`AudioFileWriter`) or a pipe (`PCMStreamWriter`).
public protocol AudioSink: AnyObject {
    func write(_ buffer: UnsafePointer<Float>, frames: Int) throws(DenoiseError)
}

extension AudioFileReader: AudioSource {}
extension AudioFileWriter: AudioSink {}

extension AudioSink {
    func write(_ interleaved: [Float], channels: Int) throws(DenoiseError) {
        try interleaved.withUnsafeBufferPointer { (p) throws(DenoiseError) in
            if let base = p.baseAddress { try write(base, frames: p.count / channels) }
        }
    }
}

/// How audio on a pipe is laid out: a WAV stream (header, then samples) or headerless little-endian PCM.
public enum PCMStreamFormat: Sendable, Equatable {
    case wav
    case raw(AudioFormat.Encoding, sampleRate: Int, channels: Int)
}

extension AudioFormat.Encoding {
    var bytes: Int {
        switch self {
        case .u8: 1
        case .s16: 2
        case .s24: 3
        case .s32, .f32: 4
        }
    }

    /// Little-endian sample at `p` as a float in [−1, 1).
    @inline(__always) func decode(_ p: UnsafePointer<UInt8>) -> Float {
        switch self {
        case .u8: return (Float(p[0]) - 128) / 128
        case .s16: return Float(Int16(bitPattern: UInt16(p[0]) | UInt16(p[1]) << 8)) / 32768
        case .s24:
            let u = UInt32(p[0]) << 8 | UInt32(p[1]) << 16 | UInt32(p[2]) << 24
            return Float(Int32(bitPattern: u) >> 8) / 8_388_608
        case .s32: return Float(Int32(bitPattern: UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24)) / 2_147_483_648
        case .f32: return Float(bitPattern: UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24)
        }
    }

    /// `x` as a little-endian sample at `p`, clipped (integer encodings) the way libsndfile clips.
    @inline(__always) func encode(_ x: Float, _ p: UnsafeMutablePointer<UInt8>) {
        func integer(_ scale: Double, _ bytes: Int) {
            // Rounded down, as libsndfile does, so a stream carries the same integers as a file.
            let v = Int64((Double(x) * scale).rounded(.down)).clamped(to: -Int64(scale)...(Int64(scale) - 1))
            for b in 0..<bytes { p[b] = UInt8(truncatingIfNeeded: v >> (8 * Int64(b))) }
        }
        switch self {
        case .u8: p[0] = UInt8(Int((Double(x) * 128).rounded(.down)).clamped(to: -128...127) + 128)
        case .s16: integer(32768, 2)
        case .s24: integer(8_388_608, 3)
        case .s32: integer(2_147_483_648, 4)
        case .f32: let u = x.bitPattern; for b in 0..<4 { p[b] = UInt8(truncatingIfNeeded: u >> (8 * UInt32(b))) }
        }
    }

    /// WAVE format tag (1 PCM, 3 IEEE float).
    var wavTag: UInt16 { self == .f32 ? 3 : 1 }
}

extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}

/// Reads audio from a file descriptor (standard input) as it arrives: each `read` returns the
/// frames available, without waiting for a full buffer, so a pipe adds no latency of its own.
public final class PCMStreamReader: AudioSource {
    public let sampleRate: Int
    public let channelCount: Int
    public let encoding: AudioFormat.Encoding
    public private(set) var repairs = SampleRepairs()
    private let fd: Int32
    private let name: String
    /// Bytes read but not yet returned (a partial frame, or header bytes read ahead).
    private var pending: [UInt8] = []
    /// Bytes of sample data still to come when the WAV header declares a size; nil: until the end.
    private var remaining: Int?
    private var ended = false

    /// `name` only names the stream in errors ("standard input").
    public init(fd: Int32 = STDIN_FILENO, format: PCMStreamFormat, name: String = "standard input") throws(DenoiseError) {
        self.fd = fd
        self.name = name
        switch format {
        case let .raw(encoding, rate, channels):
            guard AudioFile.sampleRates.contains(rate), (1...AudioFile.maxChannels).contains(channels) else {
                throw .invalidParameter("raw input needs a --sample-rate of \(AudioFile.sampleRates.lowerBound) to \(AudioFile.sampleRates.upperBound) Hz and 1 to \(AudioFile.maxChannels) --channels (got \(rate) Hz, \(channels) channels)")
            }
            (self.encoding, sampleRate, channelCount) = (encoding, rate, channels)
        case .wav:
            var header: [UInt8] = []
            // Reads up to `n` header bytes; with `keep` false they are read and dropped. At most
            // 64 KiB at a time: a chunk size is only what the stream claims.
            func need(_ n: Int, keep: Bool = true) throws(DenoiseError) {
                var wanted = n - header.count
                while wanted > 0 {
                    var chunk = [UInt8](repeating: 0, count: min(wanted, 65536))
                    let got = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
                    if got < 0, errno == EINTR { continue }
                    guard got > 0 else { throw .unreadableInput(path: name, reason: "the WAV header ends early") }
                    if keep { header += chunk[..<got] }
                    wanted -= got
                }
            }
            func u32(_ at: Int) -> Int { Int(header[at]) | Int(header[at + 1]) << 8 | Int(header[at + 2]) << 16 | Int(header[at + 3]) << 24 }
            func u16(_ at: Int) -> Int { Int(header[at]) | Int(header[at + 1]) << 8 }
            try need(12)
            guard header[0..<4].elementsEqual("RIFF".utf8), header[8..<12].elementsEqual("WAVE".utf8) else {
                throw .unreadableInput(path: name, reason: "not a WAV stream (for raw PCM give --format and --sample-rate)")
            }
            var format: (tag: Int, channels: Int, rate: Int, bits: Int)?
            while true {
                let at = header.count
                try need(at + 8)
                let id = String(decoding: header[at..<(at + 4)], as: UTF8.self), size = u32(at + 4)
                if id == "data" {
                    guard let f = format else { throw .unreadableInput(path: name, reason: "the WAV stream has no 'fmt ' chunk before its data") }
                    let encodings: [Int: AudioFormat.Encoding] = [8: .u8, 16: .s16, 24: .s24, 32: .s32]
                    guard (1...AudioFile.maxChannels).contains(f.channels), AudioFile.sampleRates.contains(f.rate),
                          let e = f.tag == 3 && f.bits == 32 ? .f32 : f.tag == 1 ? encodings[f.bits] : nil else {
                        throw .unreadableInput(path: name, reason: "unsupported WAV stream (format tag \(f.tag), \(f.bits) bits, \(f.channels) channels, \(f.rate) Hz; rates of \(AudioFile.sampleRates.lowerBound) to \(AudioFile.sampleRates.upperBound) Hz are supported)")
                    }
                    (encoding, sampleRate, channelCount) = (e, f.rate, f.channels)
                    // Streams of unknown length declare 0 or 0xFFFFFFFF: read to the end then.
                    remaining = size == 0 || size == 0xFFFF_FFFF ? nil : size
                    break
                }
                guard id == "fmt " else {
                    // Another chunk (LIST, JUNK, …): skipped without keeping it.
                    try need(at + 8 + size + size % 2, keep: false)
                    header.removeLast(8)
                    continue
                }
                guard (16...1024).contains(size) else {
                    throw .unreadableInput(path: name, reason: "the WAV 'fmt ' chunk has an impossible size (\(size) bytes)")
                }
                try need(at + 8 + size + size % 2)
                var tag = u16(at + 8)
                if tag == 0xFFFE, size >= 26 { tag = u16(at + 8 + 24) }  // WAVE_FORMAT_EXTENSIBLE: sub-format GUID
                format = (tag, u16(at + 10), u32(at + 12), u16(at + 22))
                header.removeLast(8 + size + size % 2)
            }
        }
    }

    public func read(into buffer: UnsafeMutablePointer<Float>, frames: Int) -> Int {
        let frameBytes = encoding.bytes * channelCount
        // Wait for at least one whole frame (or the end), then take whatever else is there.
        while pending.count < frameBytes, !ended {
            var want = max(frames * frameBytes - pending.count, frameBytes)
            if let r = remaining { want = min(want, r) }
            if want == 0 { ended = true; break }
            var chunk = [UInt8](repeating: 0, count: want)
            let got = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if got < 0, errno == EINTR { continue }
            if got <= 0 { ended = true; break }
            pending += chunk[..<got]
            if let r = remaining { remaining = r - got }
        }
        let n = min(pending.count / frameBytes, frames)
        guard n > 0 else { return 0 }
        let bytes = encoding.bytes, count = n * channelCount
        pending.withUnsafeBufferPointer { src in
            for i in 0..<count { buffer[i] = encoding.decode(src.baseAddress! + i * bytes) }
        }
        repairs.repair(buffer, count: count)
        pending.removeFirst(n * frameBytes)
        return n
    }
}

/// Writes audio to a file descriptor (standard output) as it is produced: raw little-endian PCM,
/// or a WAV stream whose header declares an unknown length (patched when the output can seek).
public final class PCMStreamWriter: AudioSink {
    public let encoding: AudioFormat.Encoding
    private let fd: Int32
    private let channelCount: Int
    private let name: String
    private let wav: Bool
    private var dataBytes = 0
    private var scratch: [UInt8] = []

    public init(fd: Int32 = STDOUT_FILENO, encoding: AudioFormat.Encoding, sampleRate: Int, channels: Int, wav: Bool,
                name: String = "standard output") throws(DenoiseError) {
        self.fd = fd
        self.encoding = encoding
        channelCount = channels
        self.name = name
        self.wav = wav
        if wav {
            let header = Self.wavHeader(encoding: encoding, sampleRate: sampleRate, channels: channels, dataBytes: nil)
            try header.withUnsafeBufferPointer { (p) throws(DenoiseError) in try put(UnsafeRawBufferPointer(p)) }
        }
    }

    /// `v` as `n` little-endian bytes.
    static func littleEndian(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    /// The RIFF and data chunk sizes for `dataBytes` of samples; nil: unknown length (0xFFFFFFFF).
    static func chunkSizes(dataBytes: Int?) -> (riff: Int, data: Int) {
        (dataBytes.map { min($0 + 36, 0xFFFF_FFFF) } ?? 0xFFFF_FFFF, dataBytes.map { min($0, 0xFFFF_FFFF) } ?? 0xFFFF_FFFF)
    }

    /// A 44-byte WAV header; `dataBytes` nil declares an unknown length.
    static func wavHeader(encoding: AudioFormat.Encoding, sampleRate: Int, channels: Int, dataBytes: Int?) -> [UInt8] {
        let le = littleEndian, blockAlign = channels * encoding.bytes, sizes = chunkSizes(dataBytes: dataBytes)
        return Array("RIFF".utf8) + le(sizes.riff, 4) + Array("WAVEfmt ".utf8) + le(16, 4)
            + le(Int(encoding.wavTag), 2) + le(channels, 2) + le(sampleRate, 4) + le(sampleRate * blockAlign, 4)
            + le(blockAlign, 2) + le(8 * encoding.bytes, 2) + Array("data".utf8) + le(sizes.data, 4)
    }

    public func write(_ buffer: UnsafePointer<Float>, frames: Int) throws(DenoiseError) {
        let count = frames * channelCount, bytes = encoding.bytes
        if scratch.count < count * bytes { scratch = [UInt8](repeating: 0, count: count * bytes) }
        try scratch.withUnsafeMutableBufferPointer { (dst) throws(DenoiseError) in
            for i in 0..<count { encoding.encode(buffer[i], dst.baseAddress! + i * bytes) }
            try put(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(dst)[..<(count * bytes)]))
        }
        dataBytes += count * bytes
    }

    /// Patches the WAV header's sizes when the output is a seekable file; a pipe keeps "unknown".
    public func close() {
        guard wav, lseek(fd, 0, SEEK_CUR) >= 0 else { return }
        let sizes = Self.chunkSizes(dataBytes: dataBytes)
        _ = Self.littleEndian(sizes.riff, 4).withUnsafeBytes { pwrite(fd, $0.baseAddress, 4, 4) }
        _ = Self.littleEndian(sizes.data, 4).withUnsafeBytes { pwrite(fd, $0.baseAddress, 4, 40) }
    }

    private func put(_ bytes: UnsafeRawBufferPointer) throws(DenoiseError) {
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw .unwritableOutput(path: name, reason: String(cString: strerror(errno))) }
            done += n
        }
    }
}
