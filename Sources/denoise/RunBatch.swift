import ArgumentParser
import DenoiseKit
import Foundation

/// `run` on a batch: files and folders (mirrored into the output folder), `--files-from`,
/// `--shard`, `--skip-existing`, `--jobs`, `--log` and `--report`.
extension Run {
    func runBatch(_ first: Denoiser, _ choices: NoiseChoices, start: Date) throws {
        var prepared: ([BatchItem], BatchLog?)?
        try reportingErrors {
            let items = try plannedItems()
            try makeFolder(output)
            if let noiseOutput { try makeFolder(noiseOutput) }
            prepared = (items, try self.log.map { (path) throws(DenoiseError) in try BatchLog(appendingTo: path) })
        }
        guard let (items, log) = prepared else { return }
        let state = BatchState(total: items.count, quiet: quiet)
        @Sendable func work(_ denoiser: Denoiser) {
            while let i = state.next() {
                let record = process(items[i], with: denoiser, choices)
                var logError: String?
                do throws(DenoiseError) { try log?.append(record) } catch { logError = error.description }
                state.finished(record, at: i, name: items[i].relative, logError: logError)
            }
        }
        // By default a batch of several files cleans one per core, each on one core: the per-file fit
        // (its pauses, its factorization, its floor) is mostly serial, so files side by side use the
        // cores better than each file's solve split between them (64 xrec files of 10 s on 2 cores: 11.1 → 8.1 s).
        let workers = max(min(jobs ?? ProcessInfo.processInfo.activeProcessorCount, items.count), 1)
        var shared = first
        if jobs == nil, workers > 1 {
            var options = first.options
            options.threads = 1
            try reportingErrors { shared = try first.rebuilt { $0.options = options } }
        }
        // One model for every worker: each file's streams carry their own working memory.
        let model = shared
        DispatchQueue.concurrentPerform(iterations: workers) { _ in work(model) }
        Console.endProgress()
        let records = state.records.compactMap { $0 }
        if report {
            try reportingErrors {
                try HTMLReport.write(records, pictures: Dictionary(uniqueKeysWithValues: records.compactMap { r in picture(for: r).map { (r.input, $0) } }),
                                     to: output, title: "denoise: \(records.count) files cleaned into \(output)")
            }
        }
        if verbose {
            let skipped = records.filter { $0.status == .skipped }.count
            Console.info("cleaned \(records.count - state.failures - skipped) of \(items.count) files into \(output)\(skipped > 0 ? " (\(skipped) already there)" : "") in \(formatSeconds(Date().timeIntervalSince(start))), \(workers) at a time")
        }
        if state.failures + state.unreached > 0 { throw ExitCode.failure }
    }

    /// The batch's files: the inputs and the list, without the output folder's own files (a folder
    /// cleaned into itself), this run's shard of them; two that would write the same output are refused.
    func plannedItems() throws -> [BatchItem] {
        let outputRoot = URL(fileURLWithPath: output).standardized.path + "/"
        let items = try BatchInputs.items(arguments: inputs, filesFrom: filesFrom)
            .filter { !URL(fileURLWithPath: $0.input).standardized.path.hasPrefix(outputRoot) }
        // Collisions are looked for in the whole list, so every shard of a job refuses it alike.
        var seen: [String: String] = [:]
        for item in items {
            let target = targets(item).0, key = URL(fileURLWithPath: target).standardized.path
            if let other = seen[key] {
                throw ValidationError("'\(other)' and '\(item.input)' would both be written to '\(target)'; clean them into different folders")
            }
            seen[key] = item.input
        }
        return shard?.slice(items) ?? items
    }

    /// Where `item` goes in the output folder (and the removed part's folder).
    func targets(_ item: BatchItem) -> (String, String?) {
        ((output as NSString).appendingPathComponent(item.relative), noiseOutput.map { ($0 as NSString).appendingPathComponent(item.relative) })
    }

    /// The report's picture of `record`, in `report-pictures/` beside the page (nil when none was drawn).
    func picture(for record: BatchRecord) -> String? {
        guard record.status != .failed else { return nil }
        let path = Self.picturePath(output: output, relative: record.output.dropFirst(Self.absolute(output).count + 1))
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    static func picturePath(output: String, relative: Substring) -> String {
        ((output as NSString).appendingPathComponent("report-pictures") as NSString).appendingPathComponent(relative + ".png")
    }

    /// Cleans (or skips) one file, drawing its picture for the report; never throws: a failure is
    /// the record's.
    func process(_ item: BatchItem, with denoiser: Denoiser, _ choices: NoiseChoices) -> BatchRecord {
        let (cleaned, removed) = targets(item), start = Date()
        // Logs name files by absolute paths: a report made elsewhere still finds them.
        var record = BatchRecord(input: Self.absolute(item.input), output: Self.absolute(cleaned), status: .failed)
        do {
            try makeFolder((cleaned as NSString).deletingLastPathComponent)
            if let removed { try makeFolder((removed as NSString).deletingLastPathComponent) }
            if skipExisting, FileManager.default.fileExists(atPath: cleaned) {
                record.status = .skipped
            } else {
                record = try clean(item.input, to: cleaned, noiseTo: removed, with: denoiser, choices: choices, start: start,
                                   showProgress: false).record(input: record.input, output: record.output)
            }
            // A pipe or device was read once, as it arrived: there is nothing to read again for a picture.
            if report, !AudioFile.isStream(item.input) {
                let pictures = try CleaningSpectrograms.compare(noisy: item.input, cleaned: cleaned)
                let path = Self.picturePath(output: output, relative: Substring(item.relative))
                try makeFolder((path as NSString).deletingLastPathComponent)
                try pictures.draw(to: path, title: "\(item.relative)", subtitle: Plot.subtitle(pictures, settings: "noise \(record.noise ?? "as before")"), panelHeight: 120)
                record.duration = record.duration ?? pictures.duration
                record.removedDB = record.removedDB ?? pictures.levelDropDB
            }
        } catch {
            record.status = .failed
            record.error = (error as? DenoiseError)?.description ?? "\(error)"
            record.seconds = Date().timeIntervalSince(start)
        }
        return record
    }

    static func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardized.path }

    /// `path` as a folder, made (with its parents) if missing.
    func makeFolder(_ path: String) throws(DenoiseError) {
        guard !path.isEmpty else { return }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue || AudioFile.isStream(path) else { throw .unwritableOutput(path: path, reason: "it is a file, not a folder") }
            return
        }
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw .unwritableOutput(path: path, reason: (error as NSError).localizedFailureReason ?? error.localizedDescription)
        }
    }
}

/// Work sharing and reporting for a batch run on several threads: the next file, the records in
/// input order, failures reported as they happen.
final class BatchState: @unchecked Sendable {
    private let lock = NSLock()
    private var nextIndex = 0, done = 0
    private(set) var failures = 0
    private(set) var records: [BatchRecord?]
    var unreached: Int { lock.withLock { total - nextIndex } }
    let total: Int, quiet: Bool

    init(total: Int, quiet: Bool) {
        (self.total, self.quiet) = (total, quiet)
        records = Array(repeating: nil, count: total)
    }

    func next() -> Int? {
        lock.withLock {
            guard nextIndex < total else { return nil }
            nextIndex += 1
            return nextIndex - 1
        }
    }

    /// A file done; `error` (its message) counts it as failed.
    func finished(_ input: String, error: String?) {
        lock.withLock {
            done += 1
            if let error {
                failures += 1
                Console.endProgress()
                Console.error(error)
            }
            if !quiet { Console.progress("[\(done)/\(total)] \(URL(fileURLWithPath: input).lastPathComponent)", fraction: Double(done) / Double(total)) }
        }
    }

    /// A file of a logged batch done, with its record (kept in input order); a record the log
    /// could not take is reported too.
    func finished(_ record: BatchRecord, at index: Int, name: String, logError: String?) {
        lock.withLock { records[index] = record }
        finished(name, error: record.error)
        if let logError { lock.withLock { Console.error(logError) } }
    }
}
