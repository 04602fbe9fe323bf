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
        let slot = PendingFiles.add(temporary)
        defer { PendingFiles.remove(slot) }
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

    /// Makes SIGINT, SIGTERM and SIGHUP remove the temporary files being written before the process
    /// dies with the signal, so an interrupted run leaves nothing behind. For programs; call once.
    public static func removeTemporaryFilesOnInterrupt() {
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            let previous = signal(sig) { sig in
                PendingFiles.unlinkAll()
                signal(sig, SIG_DFL)
                raise(sig)
            }
            // A signal the parent chose to ignore (nohup, background jobs) stays ignored.
            if let previous, unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) {
                signal(sig, SIG_IGN)
            } else { sigaddset(&unblock, sig) }
        }
        // A blocked mask is inherited across exec (some launchers block these); unblock them.
        sigprocmask(SIG_UNBLOCK, &unblock, nil)
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

/// The temporary files being written, in fixed C buffers a signal handler can read without
/// allocating or locking (unlink is async-signal-safe).
private enum PendingFiles {
    static let slots = 16, length = Int(PATH_MAX) + 1
    nonisolated(unsafe) static let paths: UnsafeMutablePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: slots * length)
        p.initialize(repeating: 0, count: slots * length)
        return p
    }()
    static let lock = NSLock()

    /// Registers `path`; returns its slot (nil when all are taken: the file is then only removed on errors).
    static func add(_ path: String) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard path.utf8.count < length, let slot = (0..<slots).first(where: { paths[$0 * length] == 0 }) else { return nil }
        path.withCString { src in
            let dst = paths + slot * length
            strcpy(dst + 1, src + 1)
            dst[0] = src[0]  // set last: a non-zero first byte marks the slot complete
        }
        return slot
    }

    static func remove(_ slot: Int?) {
        guard let slot else { return }
        lock.lock()
        paths[slot * length] = 0
        lock.unlock()
    }

    static func unlinkAll() {
        for slot in 0..<slots where paths[slot * length] != 0 { unlink(paths + slot * length) }
    }
}
