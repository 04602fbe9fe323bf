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

/// Reading and writing audio files with libsndfile (WAV, FLAC, OGG, AIFF, …).
public enum AudioFile {
    /// Reads a whole file. Integer formats are scaled to [−1, 1); NaN and ±Inf samples become 0
    /// (counted in the returned info).
    public static func read(_ path: String) throws(DenoiseError) -> (AudioBuffer, AudioFileInfo) {
        try checkReadableFile(path)
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            throw .unreadableInput(path: path, reason: "not a readable audio file (\(lastError(nil)))")
        }
        defer { sf_close(file) }
        let channels = Int(info.channels), frames = Int(info.frames)
        guard channels >= 1, info.samplerate >= 1 else {
            throw .unreadableInput(path: path, reason: "the file declares \(channels) channels at \(info.samplerate) Hz")
        }
        guard frames >= 1 else { throw .unreadableInput(path: path, reason: "the file contains no audio (0 frames)") }
        guard frames < Int.max / channels else { throw .unreadableInput(path: path, reason: "the file is too large") }
        _ = sf_command(file, Int32(SFC_SET_SCALE_FLOAT_INT_READ), nil, Int32(SF_TRUE))

        var interleaved = [Float](repeating: 0, count: frames * channels)
        let read = interleaved.withUnsafeMutableBufferPointer { sf_readf_float(file, $0.baseAddress!, sf_count_t(frames)) }
        let got = Int(read)
        guard got >= 1 else {
            throw .unreadableInput(path: path, reason: "no audio could be decoded (\(lastError(file)))")
        }
        var planar = [[Float]](repeating: [], count: channels)
        var nonFinite = 0
        interleaved.withUnsafeMutableBufferPointer { src in
            for c in 0..<channels {
                planar[c] = [Float](unsafeUninitializedCapacity: got) { dst, n in
                    for i in 0..<got {
                        let x = src[i * channels + c]
                        if x.isFinite { dst[i] = x } else { dst[i] = 0; nonFinite += 1 }
                    }
                    n = got
                }
            }
        }
        return (AudioBuffer(sampleRate: Int(info.samplerate), channels: planar),
                AudioFileInfo(format: AudioFormat(code: info.format), nonFiniteSamples: nonFinite))
    }

    /// Writes `audio` to `path` atomically: to a temporary file in the same folder, renamed into place
    /// only when complete, so a failure never leaves a partial file or damages an existing one.
    ///
    /// The container comes from the path's extension (WAV when it names none libsndfile knows); the
    /// sample encoding is `like`'s when the container supports it, else 24-bit PCM, 16-bit PCM or float.
    public static func write(_ audio: AudioBuffer, to path: String, like: AudioFormat? = nil) throws(DenoiseError) {
        guard audio.channelCount >= 1 else { throw .unwritableOutput(path: path, reason: "no channels to write") }
        let format = try outputFormat(for: path, channels: audio.channelCount, sampleRate: audio.sampleRate, like: like)
        try AtomicOutput.write(to: path) { temporary throws(DenoiseError) in
            try writeFile(audio, to: temporary, format: format, reportedPath: path)
        }
    }

    private static func writeFile(_ audio: AudioBuffer, to temporary: String, format: Int32, reportedPath: String) throws(DenoiseError) {
        var info = SF_INFO()
        info.samplerate = Int32(audio.sampleRate)
        info.channels = Int32(audio.channelCount)
        info.format = format
        guard let file = sf_open(temporary, Int32(SFM_WRITE), &info) else {
            throw .unwritableOutput(path: reportedPath, reason: lastError(nil))
        }
        // Integer formats: clip out-of-range samples instead of letting them wrap around.
        _ = sf_command(file, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        let channels = audio.channelCount, frames = audio.frameCount
        // Interleave and write in blocks, so memory stays small whatever the length.
        let block = 65536
        var scratch = [Float](repeating: 0, count: block * channels)
        var written = 0
        var failure: String?
        scratch.withUnsafeMutableBufferPointer { buf in
            while written < frames, failure == nil {
                let n = min(block, frames - written)
                for c in 0..<channels {
                    audio.channels[c].withUnsafeBufferPointer { src in
                        for i in 0..<n { buf[i * channels + c] = src[written + i] }
                    }
                }
                if sf_writef_float(file, buf.baseAddress!, sf_count_t(n)) != sf_count_t(n) {
                    failure = lastError(file)
                }
                written += n
            }
        }
        if failure == nil, sf_error(file) != 0 { failure = lastError(file) }
        if sf_close(file) != 0, failure == nil { failure = "closing the file failed" }
        if let failure { throw .unwritableOutput(path: reportedPath, reason: failure) }
    }

    /// Lower-case file extensions of the containers libsndfile can read here (e.g. "wav", "flac").
    public static let readableExtensions: Set<String> = {
        var names = Set(majorFormats().map(\.extension))
        if names.contains("aiff") { names.insert("aif") }
        if names.contains("oga") || names.contains("ogg") { names.formUnion(["ogg", "oga", "opus"]) }
        return names
    }()

    // MARK: - Helpers

    private static func checkReadableFile(_ path: String) throws(DenoiseError) {
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

    private static func lastError(_ file: OpaquePointer?) -> String {
        String(cString: sf_strerror(file))
    }
}
