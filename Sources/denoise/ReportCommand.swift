import ArgumentParser
import DenoiseKit
import Foundation

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the HTML listening report of batches from their --log files (the shards of a job merge into one page).",
        discussion: """
            Reads the JSON-lines logs of 'run --log' (one or several: the shards of a cluster job), keeps \
            each input's last record (a later success over an earlier failure; a 'skipped' record does \
            not hide the run that cleaned the file), draws each cleaned file's spectrograms again from \
            its input and output, and writes DIR/report.html with DIR/report-pictures/. The page opens \
            from the file system: relative links, no server, no network.

            Examples:
              denoise report shard-*.jsonl -o archive-report/
              denoise run interviews/ -o cleaned/ --log cleaned.jsonl && denoise report cleaned.jsonl -o cleaned/
            """)

    @Argument(help: "Logs written by 'run --log'.")
    var logs: [String]

    @Option(name: .shortAndLong, help: "Folder the report is written to (made if missing).")
    var output: String

    @Option(name: .shortAndLong, parsing: .unconditional, help: "Pictures drawn at the same time.")
    var jobs = 1

    func validate() throws {
        if logs.isEmpty { throw ValidationError("give at least one log written by 'run --log'") }
        if jobs < 1 || jobs > 64 { throw ValidationError("jobs must be between 1 and 64 (got \(jobs))") }
    }

    /// Each input's last record, a skip never hiding the cleaning before it; in first-seen order.
    static func merged(_ records: [BatchRecord]) -> [BatchRecord] {
        var order: [String] = [], last: [String: BatchRecord] = [:]
        for r in records {
            if last[r.input] == nil { order.append(r.input) }
            if r.status == .skipped, let earlier = last[r.input], earlier.status == .ok { continue }
            last[r.input] = r
        }
        return order.map { last[$0]! }
    }

    func run() throws {
        setLinearAlgebraThreads(1)
        try reportingErrors {
            var all: [BatchRecord] = []
            for log in logs { all += try BatchRecord.read(log: log) }
            let records = Self.merged(all)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory), !isDirectory.boolValue {
                throw DenoiseError.unwritableOutput(path: output, reason: "it is a file, not a folder")
            }
            let folder = (output as NSString).appendingPathComponent("report-pictures")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let drawn = PictureResults(count: records.count)
            DispatchQueue.concurrentPerform(iterations: min(jobs, max(records.count, 1))) { worker in
                for i in stride(from: worker, to: records.count, by: jobs) where records[i].status != .failed && !AudioFile.isStream(records[i].input) {
                    let r = records[i]
                    let path = (folder as NSString).appendingPathComponent(String(format: "%05d-", i) + (r.output as NSString).lastPathComponent + ".png")
                    do {
                        let pictures = try CleaningSpectrograms.compare(noisy: r.input, cleaned: r.output)
                        try pictures.draw(to: path, title: (r.input as NSString).lastPathComponent,
                                          subtitle: Plot.subtitle(pictures, settings: "noise \(r.noise ?? "unknown")"), panelHeight: 120)
                        drawn.set(i, path)
                    } catch {
                        // The page still lists the file; its picture is missing, and said so here.
                        Console.warning("no picture of '\(r.input)': \((error as? DenoiseError)?.description ?? "\(error)")")
                    }
                }
            }
            var pictures: [String: String] = [:]
            for (i, r) in records.enumerated() { if let p = drawn.paths[i] { pictures[r.input] = p } }
            try HTMLReport.write(records, pictures: pictures, to: output, title: "denoise: \(records.count) files from \(logs.count) log(s)")
            Console.info("wrote \((output as NSString).appendingPathComponent(HTMLReport.pageName)): \(records.count) files, \(records.filter { $0.status == .failed }.count) failed")
        }
    }
}

/// Pictures drawn by several workers, by record.
private final class PictureResults: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var paths: [String?]
    init(count: Int) { paths = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ path: String) { lock.withLock { paths[i] = path } }
}
