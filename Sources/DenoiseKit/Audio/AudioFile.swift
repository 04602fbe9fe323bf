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
    /// Samples that were NaN or ±Inf in a float file and were replaced by 0.
    public var nonFiniteSamples: Int
}

/// An audio file open for reading in chunks, so memory does not grow with its length.
public final class AudioFileReader {
    public let path: String
    public let sampleRate: Int
    public let channelCount: Int
    /// Frames the file declares.
    public let frameCount: Int
    public let format: AudioFormat
    /// NaN and ±Inf samples met so far, each replaced by 0.
    public private(set) var nonFiniteSamples = 0
    private let file: OpaquePointer

    public init(_ path: String) throws(DenoiseError) {
        try AudioFile.checkReadableFile(path)
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            throw .unreadableInput(path: path, reason: "not a readable audio file (\(AudioFile.lastError(nil)))")
        }
        let channels = Int(info.channels), frames = Int(info.frames)
        guard channels >= 1, info.samplerate >= 1 else {
            sf_close(file)
            throw .unreadableInput(path: path, reason: "the file declares \(channels) channels at \(info.samplerate) Hz")
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
        for i in 0..<(got * channelCount) where !buffer[i].isFinite {
            buffer[i] = 0
            nonFiniteSamples += 1
        }
        return got
    }

    /// Fails when decoding stopped on an error rather than at the end of the data.
    public func checkNoError(framesRead: Int) throws(DenoiseError) {
        if framesRead == 0 { throw .unreadableInput(path: path, reason: "no audio could be decoded (\(AudioFile.lastError(file)))") }
    }
}

/// An audio file being written in chunks (to a temporary path; see `AtomicOutput`).
public final class AudioFileWriter {
    private var file: OpaquePointer?
    private let channelCount: Int
    private let reportedPath: String

    /// Opens `temporary` for writing `path`'s format; errors name `path`.
    init(temporary: String, reportedPath path: String, format: Int32, sampleRate: Int, channels: Int) throws(DenoiseError) {
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = format
        guard let file = sf_open(temporary, Int32(SFM_WRITE), &info) else {
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

    /// Reads a whole file, or its first `limit` seconds. Integer formats are scaled to [−1, 1); NaN
    /// and ±Inf samples become 0 (counted in the returned info).
    public static func read(_ path: String, seconds limit: Double? = nil) throws(DenoiseError) -> (AudioBuffer, AudioFileInfo) {
        let reader = try AudioFileReader(path)
        let channels = reader.channelCount
        let wanted = limit.map { Int($0 * Double(reader.sampleRate)) } ?? Int.max
        var planar = [[Float]](repeating: [], count: channels)
        for c in 0..<channels { planar[c].reserveCapacity(reader.frameCount) }
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
        try reader.checkNoError(framesRead: total)
        return (AudioBuffer(sampleRate: reader.sampleRate, channels: planar),
                AudioFileInfo(format: reader.format, nonFiniteSamples: reader.nonFiniteSamples))
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
    /// renames the finished file into place; nothing is left behind if anything fails.
    public static func writeStreaming(to path: String, sampleRate: Int, channels: Int, like: AudioFormat? = nil,
                                      _ body: (AudioFileWriter) throws(DenoiseError) -> Void) throws(DenoiseError) {
        let format = try outputFormat(for: path, channels: channels, sampleRate: sampleRate, like: like)
        try AtomicOutput.write(to: path) { (temporary) throws(DenoiseError) in
            let writer = try AudioFileWriter(temporary: temporary, reportedPath: path, format: format, sampleRate: sampleRate, channels: channels)
            try body(writer)
            try writer.close()
        }
    }

    /// Lower-case file extensions of the containers libsndfile can read here (e.g. "wav", "flac").
    public static let readableExtensions: Set<String> = {
        var names = Set(majorFormats().map(\.extension))
        if names.contains("aiff") { names.insert("aif") }
        if names.contains("oga") || names.contains("ogg") { names.formUnion(["ogg", "oga", "opus"]) }
        return names
    }()

    // MARK: - Helpers

    static func checkReadableFile(_ path: String) throws(DenoiseError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .unreadableInput(path: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else { throw .unreadableInput(path: path, reason: "it is a directory, not an audio file") }
        guard access(path, R_OK) == 0 else { throw .unreadableInput(path: path, reason: "permission denied") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        if size == 0 { throw .unreadableInput(path: path, reason: "the file is empty (0 bytes)") }
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

    /// The SF_FORMAT code to write `path` with.
    private static func outputFormat(for path: String, channels: Int, sampleRate: Int, like: AudioFormat?) throws(DenoiseError) -> Int32 {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        var major = Int32(SF_FORMAT_WAV)
        switch ext {
        case "aif": major = Int32(SF_FORMAT_AIFF)
        case "ogg", "oga", "opus": major = Int32(SF_FORMAT_OGG)
        case "": break
        default:
            if let m = majorFormats().first(where: { $0.extension == ext }) { major = m.code }
        }
        var candidates: [Int32] = []
        if let like { candidates.append(like.subtype) }
        if ext == "opus" { candidates.append(Int32(SF_FORMAT_OPUS)) }
        candidates += [SF_FORMAT_PCM_24, SF_FORMAT_PCM_16, SF_FORMAT_FLOAT, SF_FORMAT_VORBIS, SF_FORMAT_OPUS].map { Int32($0) }
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
