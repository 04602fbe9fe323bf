/// Every failure DenoiseKit reports. `description` is a complete one-line message for a person:
/// it names the file and the offending value.
public enum DenoiseError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A setting outside its legal range.
    case invalidParameter(String)
    /// An input file or folder that cannot be used: path and reason.
    case unreadableInput(path: String, reason: String)
    /// An output that cannot be written: path and reason.
    case unwritableOutput(path: String, reason: String)
    /// A dictionary file that is malformed or does not fit the others: path and reason.
    case invalidDictionary(path: String, reason: String)
    /// Dictionaries (or a dictionary and a setting) that disagree.
    case incompatible(String)
    /// Input with nothing to work on.
    case noAudio(String)

    public var description: String {
        switch self {
        case .invalidParameter(let m): return m
        case .unreadableInput(let path, let reason): return "cannot read '\(path)': \(reason)"
        case .unwritableOutput(let path, let reason): return "cannot write '\(path)': \(reason)"
        case .invalidDictionary(let path, let reason): return "invalid dictionary '\(path)': \(reason)"
        case .incompatible(let m): return m
        case .noAudio(let m): return m
        }
    }
}
