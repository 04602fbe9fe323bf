import Foundation

/// Every output file is written to a temporary file beside its target and renamed into place only
/// when complete, so a failed or interrupted run never leaves a partial file and never damages an
/// existing one (rename within a folder is atomic).
public enum AtomicOutput {
    /// Fails now, with the reason, if `path` could not be written later: lets a long job check its
    /// output before it starts.
    public static func checkWritable(_ path: String) throws(DenoiseError) {
        unlink(try createTemporaryFile(besides: path))
    }

    /// Creates an empty temporary file beside `path`, lets `body` fill it, then renames it onto
    /// `path`. The temporary file is removed on any failure. An existing target keeps its permissions.
    static func write(to path: String, _ body: (_ temporary: String) throws(DenoiseError) -> Void) throws(DenoiseError) {
        let temporary = try createTemporaryFile(besides: path)
        do throws(DenoiseError) {
            try body(temporary)
            var existing = stat()
            if stat(path, &existing) == 0 { chmod(temporary, existing.st_mode & 0o7777) }
            guard rename(temporary, path) == 0 else {
                throw .unwritableOutput(path: path, reason: String(cString: strerror(errno)))
            }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    private static func createTemporaryFile(besides path: String) throws(DenoiseError) -> String {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .unwritableOutput(path: path, reason: "the folder '\(dir)' does not exist")
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw .unwritableOutput(path: path, reason: "it is a directory")
        }
        let name = ".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let temporary = url.deletingLastPathComponent().appendingPathComponent(name).path
        // Creating the file here, exclusively, is the real test of the folder (access() says yes to
        // root on read-only or virtual file systems).
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            let reason = errno == EACCES || errno == EPERM || errno == EROFS
                ? "the folder '\(dir)' is not writable" : "cannot create a file in '\(dir)' (\(String(cString: strerror(errno))))"
            throw .unwritableOutput(path: path, reason: reason)
        }
        close(fd)
        return temporary
    }
}
