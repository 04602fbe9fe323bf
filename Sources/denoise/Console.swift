import ArgumentParser
import DenoiseKit
import Foundation

/// Messages and progress on stderr; the CLI's only output besides files.
enum Console {
    static let isTerminal = isatty(STDERR_FILENO) == 1
    /// Where messages go: standard error, or its duplicate once `silenceLibraries` has run.
    nonisolated(unsafe) private static var output = FileHandle.standardError
    nonisolated(unsafe) private static var savedStderr: Int32 = -1

    /// Errors and warnings are one line each, whatever the file names they quote hold.
    static func error(_ message: String) { write("denoise: error: \(oneLine(message))\n") }
    static func warning(_ message: String) { write("denoise: warning: \(oneLine(message))\n") }
    static func info(_ message: String) { write(message + "\n") }

    /// `s` with control characters (a newline in a file name, an escape sequence) written as
    /// visible escapes: \n, \r, \t, \u{1B}.
    static func oneLine(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20 || u.value == 0x7F || (0x80..<0xA0).contains(u.value):
                out += "\\u{\(String(u.value, radix: 16, uppercase: true))}"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// Points the process's standard error at /dev/null and keeps a duplicate for these messages:
    /// the C libraries' own diagnostics (libmpg123 prints its decoding complaints there) must not
    /// break the one-line contract. DENOISE_DEBUG=1 leaves standard error alone.
    static func silenceLibraries() {
        guard ProcessInfo.processInfo.environment["DENOISE_DEBUG"] == nil, savedStderr < 0 else { return }
        _ = isTerminal  // decided on the real standard error
        let copy = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY)
        guard copy >= 0, null >= 0 else { return }
        dup2(null, STDERR_FILENO)
        close(null)
        savedStderr = copy
        output = FileHandle(fileDescriptor: copy, closeOnDealloc: false)
    }

    /// Gives standard error back (for what ArgumentParser itself prints on the way out).
    static func restoreStderr() {
        guard savedStderr >= 0 else { return }
        dup2(savedStderr, STDERR_FILENO)
        output = FileHandle.standardError
    }

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

    static func write(_ s: String) { output.write(Data(s.utf8)) }
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
