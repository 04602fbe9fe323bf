import ArgumentParser
import DenoiseKit
import Foundation

/// Messages and progress on stderr; the CLI's only output besides files.
enum Console {
    static let isTerminal = isatty(STDERR_FILENO) == 1

    static func error(_ message: String) { write("denoise: error: \(message)\n") }
    static func warning(_ message: String) { write("denoise: warning: \(message)\n") }
    static func info(_ message: String) { write(message + "\n") }

    /// A progress line rewritten in place; only on a terminal.
    static func progress(_ message: String) {
        guard isTerminal else { return }
        write("\r\u{1B}[2K" + message)
    }

    /// A progress bar: `label [#######.............]  35% detail`.
    static func progress(_ label: String, fraction: Double, detail: String = "") {
        guard isTerminal else { return }
        let width = 24, filled = Int((min(max(fraction, 0), 1) * Double(width)).rounded())
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        progress("\(label) [\(bar)] \(String(format: "%3d", Int(fraction * 100)))%\(detail.isEmpty ? "" : " " + detail)")
    }

    static func endProgress() { if isTerminal { write("\r\u{1B}[2K") } }

    static func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}

/// Runs a command's body, turning library errors into one line on stderr and exit status 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as DenoiseError {
        Console.endProgress()
        Console.error(error.description)
        throw ExitCode.failure
    }
}

func formatSeconds(_ s: Double) -> String { String(format: s < 10 ? "%.2f s" : "%.1f s", s) }
