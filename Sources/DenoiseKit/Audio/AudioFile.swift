internal import CSndFile
import Foundation

/// The encoding of a file as libsndfile describes it (container and sample format).
public struct AudioFormat: Sendable, Equatable, CustomStringConvertible {
    /// libsndfile's SF_FORMAT_* value: major (container) | subtype (sample encoding).
    let code: Int32

    /// 32-bit float WAV.
    public static let float32WAV = AudioFormat(code: Int32(SF_FORMAT_WAV) | Int32(SF_FORMAT_FLOAT))

    /// Sample encodings a caller can ask for by name.
    public enum Encoding: String, CaseIterable, Sendable {
        case u8, s16, s24, s32, f32

        var subtype: Int32 {
            switch self {
            case .u8: Int32(SF_FORMAT_PCM_U8)
            case .s16: Int32(SF_FORMAT_PCM_16)
            case .s24: Int32(SF_FORMAT_PCM_24)
            case .s32: Int32(SF_FORMAT_PCM_32)
            case .f32: Int32(SF_FORMAT_FLOAT)
            }
        }
    }

    /// The sample encoding, when it is one of `Encoding`'s.
    public var encoding: Encoding? { Encoding.allCases.first { $0.subtype == subtype } }

    /// WAV with the given sample encoding.
    public static func wav(_ encoding: Encoding) -> AudioFormat { AudioFormat(code: Int32(SF_FORMAT_WAV) | encoding.subtype) }

    var major: Int32 { code & Int32(SF_FORMAT_TYPEMASK) }
    /// MPEG audio (layer I-III), whose frame count libsndfile can only estimate.
    var isMPEG: Bool { (Int32(SF_FORMAT_MPEG_LAYER_I)...Int32(SF_FORMAT_MPEG_LAYER_III)).contains(subtype) }
    var subtype: Int32 { code & Int32(SF_FORMAT_SUBMASK) }

    /// E.g. "WAV (Microsoft), Signed 16 bit PCM".
    public var description: String {
        "\(AudioFile.formatName(major, command: Int32(SFC_GET_FORMAT_MAJOR_COUNT), info: Int32(SFC_GET_FORMAT_MAJOR))), "
            + AudioFile.formatName(subtype, command: Int32(SFC_GET_FORMAT_SUBTYPE_COUNT), info: Int32(SFC_GET_FORMAT_SUBTYPE))
    }
}

/// What reading a file found besides the samples.
public struct AudioFileInfo: Sendable {
    public var format: AudioFormat
    /// Samples that were NaN, ±Inf or far out of range and were repaired.
    public var repairs: SampleRepairs
}

/// Input samples that could not be used as they were: NaN and ±Inf (a float file can hold them)
/// become 0, and samples beyond ±`SampleRepairs.limit` (legal floats, e.g. 1e20, that would
/// overflow the spectra into NaN) are clamped to it.
public struct SampleRepairs: Sendable, Equatable {
    /// 40 dB above full scale: far beyond any real recording, small enough that no spectrum,
    /// product or divergence of the model can overflow.
    public static let limit: Float = 100
    public var nonFinite = 0
    public var clamped = 0

    public init() {}

    /// Repairs `count` samples at `samples` in place and counts what it changed.
    mutating func repair(_ samples: UnsafeMutablePointer<Float>, count: Int) {
        let limit = Self.limit
        for i in 0..<count where !(abs(samples[i]) <= limit) {
            if samples[i].isFinite {
                samples[i] = samples[i] > 0 ? limit : -limit
                clamped += 1
            } else {
                samples[i] = 0
                nonFinite += 1
            }
        }
    }

    /// The warning for a person, naming `source`; nil when nothing was repaired.
    public func warning(for source: String) -> String? {
        var parts: [String] = []
        func plural(_ n: Int) -> String { n == 1 ? "" : "s" }
        if nonFinite > 0 { parts.append("\(nonFinite) NaN/Inf sample\(plural(nonFinite)) treated as 0") }
        if clamped > 0 { parts.append("\(clamped) sample\(plural(clamped)) beyond ±\(Int(Self.limit)) (far out of range) clamped to it") }
        return parts.isEmpty ? nil : "'\(source)': " + parts.joined(separator: ", ")
    }
}

/// An audio file open for reading in chunks, so memory does not grow with its length.
public final class AudioFileReader {
    public let path: String
    public let sampleRate: Int
    public let channelCount: Int
    /// Frames the file declares.
    public let frameCount: Int
    public let format: AudioFormat
    /// Samples repaired so far (NaN/Inf, far out of range).
    public private(set) var repairs = SampleRepairs()
    private let file: OpaquePointer

    public init(_ path: String) throws(DenoiseError) {
        try AudioFile.checkReadableFile(path)
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            throw .unreadableInput(path: path, reason: "not a readable audio file (\(AudioFile.lastError(nil)))")
        }
        let channels = Int(info.channels), frames = Int(info.frames)
        guard (1...AudioFile.maxChannels).contains(channels) else {
            sf_close(file)
            throw .unreadableInput(path: path, reason: "the file declares \(channels) channels (1 to \(AudioFile.maxChannels) are supported)")
        }
        do { try AudioFile.checkSampleRate(Int(info.samplerate)) } catch {
            sf_close(file)
            throw .unreadableInput(path: path, reason: "the file declares \(error)")
        }
        guard frames >= 1 else {
            sf_close(file)
            throw .unreadableInput(path: path, reason: "the file contains no audio (0 frames)")
        }
        // Integer formats are scaled to [−1, 1).
        _ = sf_command(file, Int32(SFC_SET_SCALE_FLOAT_INT_READ), nil, Int32(SF_TRUE))
        self.path = path
        self.file = file
        sampleRate = Int(info.samplerate)
        channelCount = channels
        frameCount = frames
        format = AudioFormat(code: info.format)
    }

    deinit { sf_close(file) }

    /// Reads up to `frames` interleaved frames into `buffer`; returns how many were read (0 at the end).
    public func read(into buffer: UnsafeMutablePointer<Float>, frames: Int) -> Int {
        let got = Int(sf_readf_float(file, buffer, sf_count_t(frames)))
        guard got > 0 else { return 0 }
        repairs.repair(buffer, count: got * channelCount)
        return got
    }

    /// Moves to `frame` (from the start): the next read begins there.
    public func seek(to frame: Int) throws(DenoiseError) {
        guard frame >= 0, frame <= frameCount else {
            throw .unreadableInput(path: path, reason: "cannot read from frame \(frame): the file declares \(frameCount)")
        }
        guard sf_seek(file, sf_count_t(frame), SEEK_SET) == sf_count_t(frame) else {
            throw .unreadableInput(path: path, reason: "cannot move to frame \(frame) of \(frameCount) (\(AudioFile.lastError(file)))")
        }
    }

    /// Fails when decoding stopped before `expected` frames (the header's length by default): on an
    /// error, or because the file is truncated or damaged. Never silent: a short decode would be a
    /// short output.
    public func checkComplete(framesRead: Int, of expected: Int? = nil) throws(DenoiseError) {
        let expected = expected ?? frameCount
        // MPEG data (an MP3, or MP3 inside a WAV) has its length estimated from its size; a
        // lossless file's header is exact.
        let slack = format.isMPEG ? max(expected / 50, sampleRate / 10) : 0
        guard framesRead + slack < expected else { return }
        let rate = Double(sampleRate), detail = sf_error(file) != 0 ? " (\(AudioFile.lastError(file)))" : ""
        throw .unreadableInput(path: path, reason: String(
            format: "the audio ends early: %.3f s decoded of the %.3f s the header declares (the file is truncated or damaged)",
            Double(framesRead) / rate, Double(frameCount) / rate) + detail)
    }
}

/// An audio file being written in chunks (to a temporary path, or a device in place; see
/// `AtomicOutput`).
public final class AudioFileWriter {
    private var file: OpaquePointer?
    private let channelCount: Int
    private let reportedPath: String

    /// Opens `destination` (a temporary file, or a seekable device) for writing `path`'s format, or
    /// with `descriptor` writes into that open file; errors name `path`.
    init(destination: String, descriptor: Int32? = nil, reportedPath path: String, format: Int32, sampleRate: Int,
         channels: Int) throws(DenoiseError) {
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = format
        let opened = descriptor.map { sf_open_fd($0, Int32(SFM_WRITE), &info, Int32(SF_TRUE)) } ?? sf_open(destination, Int32(SFM_WRITE), &info)
        guard let file = opened else {
            if let descriptor { Foundation.close(descriptor) }
            throw .unwritableOutput(path: path, reason: AudioFile.lastError(nil))
        }
        // Integer formats: clip out-of-range samples instead of letting them wrap around.
        _ = sf_command(file, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        self.file = file
        channelCount = channels
        reportedPath = path
    }

    deinit { if let file { sf_close(file) } }

    /// Appends `frames` interleaved frames.
    public func write(_ buffer: UnsafePointer<Float>, frames: Int) throws(DenoiseError) {
        guard frames > 0, let file else { return }
        if sf_writef_float(file, buffer, sf_count_t(frames)) != sf_count_t(frames) {
            throw .unwritableOutput(path: reportedPath, reason: AudioFile.lastError(file))
        }
    }

    /// Finishes the file (headers, encoder flush).
    public func close() throws(DenoiseError) {
        guard let file else { return }
        self.file = nil
        let failure = sf_error(file) != 0 ? AudioFile.lastError(file) : nil
        if sf_close(file) != 0 || failure != nil { throw .unwritableOutput(path: reportedPath, reason: failure ?? "closing the file failed") }
    }
}

/// Reading and writing audio files with libsndfile (WAV, FLAC, OGG, AIFF, …).
public enum AudioFile {
    /// Frames moved per libsndfile call.
    static let chunkFrames = 65536
    /// Sample rates accepted from files and streams. Below 1 kHz nothing is speech, and converting
    /// such a rate to the model's would multiply a tiny file into gigabytes (1 Hz: 16 000 ×).
    public static let sampleRates = 1000...1_000_000
    public static let maxChannels = 256

    /// Fails unless `rate` is one `sampleRates` holds; the message reads "sample rate …".
    public static func checkSampleRate(_ rate: Int) throws(DenoiseError) {
        guard sampleRates.contains(rate) else {
            throw .invalidParameter("sample rate \(rate) Hz, outside the \(sampleRates.lowerBound)-\(sampleRates.upperBound) Hz denoise works with")
        }
    }

    /// Reads a whole file, or its first `limit` seconds. Integer formats are scaled to [−1, 1); NaN
    /// and ±Inf samples become 0, far out-of-range ones are clamped (counted in the returned info).
    /// A file that ends before its declared length (within what was asked for) is an error.
    /// `from`: the first frame read (a later part of a long recording, `RecordingSections`).
    public static func read(_ path: String, from start: Int = 0, seconds limit: Double? = nil) throws(DenoiseError) -> (AudioBuffer, AudioFileInfo) {
        let reader = try AudioFileReader(path)
        let channels = reader.channelCount
        if start > 0 { try reader.seek(to: start) }
        let wanted = limit.map { Int($0 * Double(reader.sampleRate)) } ?? Int.max
        var planar = [[Float]](repeating: [], count: channels)
        // The header's length is only a claim (a damaged FLAC can declare 2^35 frames): the arrays
        // grow with what is decoded, reserving no more than one chunk beyond it.
        for c in 0..<channels { planar[c].reserveCapacity(min(reader.frameCount, wanted, chunkFrames)) }
        var chunk = [Float](repeating: 0, count: chunkFrames * channels)
        var one = [Float](repeating: 0, count: chunkFrames)
        var total = 0
        chunk.withUnsafeMutableBufferPointer { buffer in
            one.withUnsafeMutableBufferPointer { channel in
                while total < wanted {
                    let got = reader.read(into: buffer.baseAddress!, frames: min(chunkFrames, wanted - total))
                    if got == 0 { break }
                    for c in 0..<channels {
                        for i in 0..<got { channel[i] = buffer[i * channels + c] }
                        planar[c].append(contentsOf: UnsafeBufferPointer(rebasing: channel[..<got]))
                    }
                    total += got
                }
            }
        }
        try reader.checkComplete(framesRead: start + total, of: start + min(wanted, reader.frameCount - start))
        return (AudioBuffer(sampleRate: reader.sampleRate, channels: planar),
                AudioFileInfo(format: reader.format, repairs: reader.repairs))
    }

    /// Writes `audio` to `path` atomically: to a temporary file in the same folder, renamed into place
    /// only when complete, so a failure never leaves a partial file or damages an existing one.
    ///
    /// The container comes from the path's extension (WAV when it names none libsndfile knows); the
    /// sample encoding is `like`'s when the container supports it, else 24-bit PCM, 16-bit PCM or float.
    public static func write(_ audio: AudioBuffer, to path: String, like: AudioFormat? = nil) throws(DenoiseError) {
        guard audio.channelCount >= 1 else { throw .unwritableOutput(path: path, reason: "no channels to write") }
        try writeStreaming(to: path, sampleRate: audio.sampleRate, channels: audio.channelCount, like: like) { (writer) throws(DenoiseError) in
            let channels = audio.channelCount, frames = audio.frameCount
            var chunk = [Float](repeating: 0, count: min(chunkFrames, max(frames, 1)) * channels)
            var done = 0
            while done < frames {
                let n = min(chunkFrames, frames - done)
                for c in 0..<channels {
                    audio.channels[c].withUnsafeBufferPointer { src in
                        for i in 0..<n { chunk[i * channels + c] = src[done + i] }
                    }
                }
                try chunk.withUnsafeBufferPointer { (p) throws(DenoiseError) in try writer.write(p.baseAddress!, frames: n) }
                done += n
            }
        }
    }

    /// Opens a writer for `path` (format as for `write`), lets `body` write into it in chunks, and
    /// renames the finished file into place; nothing is left behind if anything fails. A device or
    /// named pipe is written in place: through libsndfile when it can seek (`/dev/null`), else as a
    /// WAV stream whose header declares an unknown length (libsndfile writes no WAV to a pipe).
    public static func writeStreaming(to path: String, sampleRate: Int, channels: Int, like: AudioFormat? = nil,
                                      _ body: (AudioSink) throws(DenoiseError) -> Void) throws(DenoiseError) {
        let format = try outputFormat(for: path, channels: channels, sampleRate: sampleRate, like: like)
        try AtomicOutput.write(to: path) { (destination, isDevice) throws(DenoiseError) in
            guard isDevice else {
                let writer = try AudioFileWriter(destination: destination, reportedPath: path, format: format,
                                                 sampleRate: sampleRate, channels: channels)
                try body(writer)
                try writer.close()
                return
            }
            let fd = open(destination, O_WRONLY)
            guard fd >= 0 else { throw .unwritableOutput(path: path, reason: String(cString: strerror(errno))) }
            let format = AudioFormat(code: format)
            if lseek(fd, 0, SEEK_CUR) < 0, format.major == Int32(SF_FORMAT_WAV) {
                defer { Foundation.close(fd) }
                let writer = try PCMStreamWriter(fd: fd, encoding: format.encoding ?? .s16, sampleRate: sampleRate, channels: channels,
                                                 wav: true, name: path)
                try body(writer)
                writer.close()
            } else {
                let writer = try AudioFileWriter(destination: destination, descriptor: fd, reportedPath: path, format: format.code,
                                                 sampleRate: sampleRate, channels: channels)
                try body(writer)
                try writer.close()
            }
        }
    }

    /// `writeStreaming` to several files at once: every one is created (as a temporary file) before
    /// `body` runs and appears only if all of it succeeds.
    public static func writeStreaming(to paths: [String], sampleRate: Int, channels: Int, like: AudioFormat? = nil,
                                      _ body: ([AudioSink]) throws(DenoiseError) -> Void) throws(DenoiseError) {
        func open(_ i: Int, _ sinks: [AudioSink]) throws(DenoiseError) {
            guard i < paths.count else { return try body(sinks) }
            try writeStreaming(to: paths[i], sampleRate: sampleRate, channels: channels, like: like) { (sink) throws(DenoiseError) in
                try open(i + 1, sinks + [sink])
            }
        }
        try open(0, [])
    }

    /// Lower-case file extensions of the containers libsndfile can read here (e.g. "wav", "flac").
    public static let readableExtensions: Set<String> = {
        var names = Set(majorFormats().map(\.extension))
        if names.contains("aiff") { names.insert("aif") }
        if names.contains("oga") || names.contains("ogg") { names.formUnion(["ogg", "oga", "opus"]) }
        return names
    }()

    // MARK: - Helpers

    /// Whether `path` is a named pipe or a character device (/dev/stdin on a pipe, a FIFO): audio
    /// that arrives as it is written and is read as a stream, not as a file.
    public static func isStream(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        return st.st_mode & S_IFMT == S_IFIFO || st.st_mode & S_IFMT == S_IFCHR
    }

    static func checkReadableFile(_ path: String) throws(DenoiseError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .unreadableInput(path: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else { throw .unreadableInput(path: path, reason: "it is a directory, not an audio file") }
        guard access(path, R_OK) == 0 else { throw .unreadableInput(path: path, reason: "permission denied") }
        var st = stat()
        if stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size == 0 {
            throw .unreadableInput(path: path, reason: "the file is empty (0 bytes)")
        }
    }

    private struct MajorFormat { var code: Int32; var `extension`: String }

    private static func majorFormats() -> [MajorFormat] {
        var count: Int32 = 0
        _ = sf_command(nil, Int32(SFC_GET_FORMAT_MAJOR_COUNT), &count, Int32(MemoryLayout<Int32>.size))
        var out: [MajorFormat] = []
        for i in 0..<count {
            var info = SF_FORMAT_INFO()
            info.format = i
            _ = sf_command(nil, Int32(SFC_GET_FORMAT_MAJOR), &info, Int32(MemoryLayout<SF_FORMAT_INFO>.size))
            if let ext = info.extension { out.append(MajorFormat(code: info.format, extension: String(cString: ext).lowercased())) }
        }
        return out
    }

    static func formatName(_ code: Int32, command: Int32, info: Int32) -> String {
        var count: Int32 = 0
        _ = sf_command(nil, command, &count, Int32(MemoryLayout<Int32>.size))
        for i in 0..<count {
            var f = SF_FORMAT_INFO()
            f.format = i
            _ = sf_command(nil, info, &f, Int32(MemoryLayout<SF_FORMAT_INFO>.size))
            if f.format == code, let name = f.name { return String(cString: name) }
        }
        return "format 0x\(String(code, radix: 16))"
    }

    /// The SF_FORMAT code to write `path` with: the container its extension names (WAV when none),
    /// with `like`'s sample encoding when that container can hold it, else the first of 24-bit PCM,
    /// 16-bit PCM, float, Vorbis, Opus, MP3 that it can. libsndfile's format check accepts some
    /// pairs it cannot write (WAV holding MP3 data), so compressed encodings are only carried over
    /// within their own container, and MPEG ones only into an MPEG file.
    private static func outputFormat(for path: String, channels: Int, sampleRate: Int, like: AudioFormat?) throws(DenoiseError) -> Int32 {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        var major = Int32(SF_FORMAT_WAV)
        switch ext {
        case "aif": major = Int32(SF_FORMAT_AIFF)
        case "ogg", "oga", "opus": major = Int32(SF_FORMAT_OGG)
        case "mp3", "mp2", "mpeg": major = Int32(SF_FORMAT_MPEG)
        case "": break
        default:
            if let m = majorFormats().first(where: { $0.extension == ext }) { major = m.code }
        }
        let uncompressed = [SF_FORMAT_PCM_S8, SF_FORMAT_PCM_U8, SF_FORMAT_PCM_16, SF_FORMAT_PCM_24, SF_FORMAT_PCM_32,
                            SF_FORMAT_FLOAT, SF_FORMAT_DOUBLE].map { Int32($0) }
        let mpeg = Int32(SF_FORMAT_MPEG_LAYER_I)...Int32(SF_FORMAT_MPEG_LAYER_III)
        var candidates: [Int32] = []
        if let like, uncompressed.contains(like.subtype) || like.major == major && (!mpeg.contains(like.subtype) || major == Int32(SF_FORMAT_MPEG)) {
            candidates.append(like.subtype)
        }
        if ext == "opus" { candidates.append(Int32(SF_FORMAT_OPUS)) }
        candidates += [SF_FORMAT_PCM_24, SF_FORMAT_PCM_16, SF_FORMAT_FLOAT, SF_FORMAT_VORBIS, SF_FORMAT_OPUS,
                       SF_FORMAT_MPEG_LAYER_III].map { Int32($0) }
        for subtype in candidates {
            var info = SF_INFO()
            info.format = major | subtype
            info.channels = Int32(channels)
            info.samplerate = Int32(sampleRate)
            if sf_format_check(&info) != 0 { return info.format }
        }
        throw .unwritableOutput(path: path, reason: "no encoding of the '\(ext)' format fits \(channels) channels at \(sampleRate) Hz")
    }

    static func lastError(_ file: OpaquePointer?) -> String {
        String(cString: sf_strerror(file))
    }
}
