import ArgumentParser
import DenoiseKit
import Foundation

/// One file of a batch and where its output goes, relative to the output folder.
struct BatchItem: Sendable, Equatable {
    var input: String
    /// The file's path under the output folder: its name, or for a file found in a folder given as
    /// an input, its path below that folder (the output tree mirrors the input's).
    var relative: String
}

/// `--shard K/N`: the K-th (from 0) of N deterministic slices of the batch.
struct ShardArgument: ExpressibleByArgument, Equatable {
    var index: Int, count: Int

    init?(argument: String) {
        let parts = argument.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, n <= 1_000_000, (0..<n).contains(k) else { return nil }
        (index, count) = (k, n)
    }

    /// Items k, k + N, k + 2N, … of the list: every item in exactly one shard, and shards of equal size ±1.
    func slice(_ items: [BatchItem]) -> [BatchItem] {
        stride(from: index, to: items.count, by: count).map { items[$0] }
    }
}

enum BatchInputs {
    /// The batch named by `arguments` and the lines of `filesFrom` ('-': standard input), in that
    /// order: files as they are, folders searched recursively (sorted) for audio files.
    static func items(arguments: [String], filesFrom: String?) throws(DenoiseError) -> [BatchItem] {
        var named = arguments
        if let filesFrom { named += try lines(of: filesFrom) }
        var items: [BatchItem] = []
        for path in named {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                let root = URL(fileURLWithPath: path).standardized.path
                for file in try DictionaryTrainer.audioFiles(in: [path]) {
                    let full = URL(fileURLWithPath: file).standardized.path
                    items.append(BatchItem(input: file, relative: String(full.dropFirst(root.count).drop { $0 == "/" })))
                }
            } else {
                items.append(BatchItem(input: path, relative: URL(fileURLWithPath: path).lastPathComponent))
            }
        }
        return items
    }

    /// The non-empty lines of a list file (or standard input), without surrounding blanks.
    static func lines(of list: String) throws(DenoiseError) -> [String] {
        let data: Data
        if list == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let d = FileManager.default.contents(atPath: list) else {
                throw .unreadableInput(path: list, reason: FileManager.default.fileExists(atPath: list) ? "the list cannot be read" : "no such file")
            }
            data = d
        }
        guard let text = String(data: data, encoding: .utf8) else { throw .unreadableInput(path: list, reason: "the list is not UTF-8 text") }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
