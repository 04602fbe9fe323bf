import Foundation

/// A batch's listening report: one HTML page that opens from the file system (relative links, no
/// script, no network) with every file's figures, spectrograms and players for input and output.
public enum HTMLReport {
    /// The page's name inside the report folder.
    public static let pageName = "report.html"

    /// Failures first, then the files that changed most, then the rest (skipped last).
    public static func ordered(_ records: [BatchRecord]) -> [BatchRecord] {
        func rank(_ r: BatchRecord) -> Int { r.status == .failed ? 0 : r.status == .ok ? 1 : 2 }
        return records.enumerated().sorted { a, b in
            let (x, y) = (a.element, b.element)
            if rank(x) != rank(y) { return rank(x) < rank(y) }
            let (dx, dy) = (x.removedDB ?? -.infinity, y.removedDB ?? -.infinity)
            return dx != dy ? dx > dy : a.offset < b.offset
        }.map(\.element)
    }

    /// Writes `directory/report.html` atomically. `pictures` maps a record's input to its
    /// spectrogram picture's path (files without one are listed without a picture).
    public static func write(_ records: [BatchRecord], pictures: [String: String], to directory: String, title: String) throws(DenoiseError) {
        let page = html(records, pictures: pictures, directory: directory, title: title)
        let path = (directory as NSString).appendingPathComponent(pageName)
        try AtomicOutput.write(to: path) { (destination, _) throws(DenoiseError) in
            do { try Data(page.utf8).write(to: URL(fileURLWithPath: destination)) } catch {
                throw .unwritableOutput(path: path, reason: (error as NSError).localizedDescription)
            }
        }
    }

    static func html(_ records: [BatchRecord], pictures: [String: String], directory: String, title: String) -> String {
        let failed = records.filter { $0.status == .failed }.count, skipped = records.filter { $0.status == .skipped }.count
        let audio = records.compactMap(\.duration).reduce(0, +), time = records.compactMap(\.seconds).reduce(0, +)
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>
            body{font-family:sans-serif;margin:2em;color:#222;max-width:1300px}
            h1{font-size:1.4em}.summary{color:#555}
            section{border-top:1px solid #ccc;padding:1em 0}
            section.failed h2{color:#b00}
            h2{font-size:1.05em;margin:.2em 0;word-break:break-all}
            table{border-collapse:collapse;margin:.4em 0}td{padding:.1em 1.2em .1em 0}td:first-child{color:#666}
            .error{color:#b00;font-weight:bold}
            img{max-width:100%;border:1px solid #ddd}
            .players{display:flex;gap:2em;flex-wrap:wrap;margin:.5em 0}.players div{display:flex;flex-direction:column}
            </style></head><body>
            <h1>\(escape(title))</h1>
            <p class="summary">\(records.count) files: \(records.count - failed - skipped) cleaned, \(failed) failed, \(skipped) skipped; \(String(format: "%.1f", audio)) s of audio in \(String(format: "%.1f", time)) s. Failures first, then the files that changed most.</p>

            """
        for r in ordered(records) {
            out += "<section class=\"\(r.status.rawValue)\">\n<h2>\(escape((r.input as NSString).lastPathComponent))</h2>\n<table>\n"
            out += "<tr><td>input</td><td>\(escape(r.input))</td></tr>\n<tr><td>output</td><td>\(escape(r.output))</td></tr>\n"
            out += "<tr><td>status</td><td class=\"\(r.status == .failed ? "error" : "")\">\(r.status.rawValue)\(r.error.map { ": " + escape($0) } ?? "")</td></tr>\n"
            if let d = r.duration { out += "<tr><td>duration</td><td>\(String(format: "%.2f", d)) s</td></tr>\n" }
            if let n = r.noise { out += "<tr><td>noise dictionary</td><td>\(escape(n))</td></tr>\n" }
            if let db = r.removedDB { out += "<tr><td>removed</td><td>\(String(format: "%.1f", db)) dB (output quieter than input)</td></tr>\n" }
            if let s = r.seconds { out += "<tr><td>time</td><td>\(String(format: "%.2f", s)) s</td></tr>\n" }
            out += "</table>\n"
            if r.status != .failed {
                out += "<div class=\"players\">"
                out += "<div>input<audio controls preload=\"none\" src=\"\(link(from: directory, to: r.input))\"></audio></div>"
                out += "<div>output<audio controls preload=\"none\" src=\"\(link(from: directory, to: r.output))\"></audio></div>"
                out += "</div>\n"
            }
            if let picture = pictures[r.input] {
                out += "<img alt=\"spectrograms of \(escape((r.input as NSString).lastPathComponent))\" src=\"\(link(from: directory, to: picture))\">\n"
            }
            out += "</section>\n"
        }
        return out + "</body></html>\n"
    }

    /// `file` relative to `directory`, each component percent-encoded: a link that works wherever the
    /// report and the audio are moved together.
    public static func link(from directory: String, to file: String) -> String {
        let base = URL(fileURLWithPath: directory).standardized.resolvingSymlinksInPath().pathComponents
        let target = URL(fileURLWithPath: file).standardized
        let targetDir = target.deletingLastPathComponent().resolvingSymlinksInPath().pathComponents + [target.lastPathComponent]
        var common = 0
        while common < min(base.count, targetDir.count - 1), base[common] == targetDir[common] { common += 1 }
        let parts = Array(repeating: "..", count: base.count - common) + targetDir[common...]
        return parts.map { $0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/;"))) ?? $0 }
            .joined(separator: "/")
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
