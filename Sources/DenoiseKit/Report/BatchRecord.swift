import Foundation

/// What happened to one file of a batch: a line of `run --log FILE.jsonl`, and a row of the report.
public struct BatchRecord: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case ok, failed, skipped }

    public var input: String
    public var output: String
    public var status: Status
    public var error: String?
    /// Seconds of audio.
    public var duration: Double?
    /// The noise dictionary used (the one `--noise auto` chose, or those given).
    public var noise: String?
    /// How much quieter the output is than the input, in dB.
    public var removedDB: Double?
    /// Seconds the file took.
    public var seconds: Double?

    public init(input: String, output: String, status: Status, error: String? = nil, duration: Double? = nil,
                noise: String? = nil, removedDB: Double? = nil, seconds: Double? = nil) {
        self.input = input
        self.output = output
        self.status = status
        self.error = error
        self.duration = duration
        self.noise = noise
        self.removedDB = removedDB
        self.seconds = seconds
    }

    enum CodingKeys: String, CodingKey {
        case input, output, status, error, duration, noise, seconds
        case removedDB = "removed_db"
    }

    /// One JSON object on one line.
    public var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(self), as: UTF8.self) + "\n"
    }

    /// Every record of a JSON-lines log; a line that is not a record is an error naming the line.
    public static func read(log path: String) throws(DenoiseError) -> [BatchRecord] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadableInput(path: path, reason: FileManager.default.fileExists(atPath: path) ? "the file cannot be read" : "no such file")
        }
        var records: [BatchRecord] = []
        for (n, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) {
            guard let record = try? JSONDecoder().decode(BatchRecord.self, from: Data(line)) else {
                throw .unreadableInput(path: path, reason: "line \(n + 1) is not a denoise log record")
            }
            records.append(record)
        }
        return records
    }
}

/// Appends records to a JSON-lines file as files finish, one `write` per line (O_APPEND), from any
/// thread: shards of a job may share the file.
public final class BatchLog: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    public let path: String

    public init(appendingTo path: String) throws(DenoiseError) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .unwritableOutput(path: path, reason: String(cString: strerror(errno))) }
        self.path = path
    }

    deinit { close(fd) }

    public func append(_ record: BatchRecord) throws(DenoiseError) {
        let bytes = Array(record.jsonLine.utf8)
        let written = lock.withLock { bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) } }
        guard written == bytes.count else { throw .unwritableOutput(path: path, reason: String(cString: strerror(errno))) }
    }
}
