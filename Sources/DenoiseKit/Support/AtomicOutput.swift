import Foundation

/// Every output file is written to a temporary file beside its target and renamed into place only
/// when complete, so a failed or interrupted run never leaves a partial file and never damages an
/// existing one (rename within a folder is atomic).
public enum AtomicOutput {
    /// Where an output goes.
    public enum Target: Equatable, Sendable {
        /// A regular file, or a name that does not exist yet: written to a temporary file beside it
        /// and renamed into place (symbolic links resolved, so the file they point to is replaced).
        case file(String)
        /// A character or block device, or a FIFO (`/dev/null`, `/dev/full`, a terminal, a named
        /// pipe, `/dev/stdout` on a pipe): written in place, as it is produced; renaming a file onto
        /// it would replace the device node.
        case device(String)

        public var isDevice: Bool { if case .device = self { true } else { false } }
    }

    /// What `path` is as an output; anything but a regular file, a device, a FIFO or a new name
    /// (a folder, a socket, a dangling symbolic link) is refused.
    public static func target(for path: String) throws(DenoiseError) -> Target {
        var st = stat()
        guard stat(path, &st) == 0 else {
            var link = stat()
            if errno == ENOENT, lstat(path, &link) == 0 {
                throw .unwritableOutput(path: path, reason: "it is a symbolic link to a file that does not exist")
            }
            return .file(path)
        }
        // /dev/stdout, /dev/fd/N, /proc/self/fd/N name an open descriptor, whatever it points to
        // (a file the shell redirected to included): written in place, never renamed over.
        if path.hasPrefix("/dev/") || path.hasPrefix("/proc/") { return .device(path) }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .file(URL(fileURLWithPath: path).resolvingSymlinksInPath().path)
        case S_IFCHR, S_IFBLK, S_IFIFO: return .device(path)
        case S_IFDIR: throw .unwritableOutput(path: path, reason: "it is a directory")
        default: throw .unwritableOutput(path: path, reason: "it is neither a regular file nor a device or named pipe")
        }
    }

    /// Whether `a` and `b` name the same file: the same device and inode when both exist (a hard
    /// link or a symbolic link to the other counts), else the same path once resolved.
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        if stat(a, &sa) == 0, stat(b, &sb) == 0 { return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino }
        func resolved(_ p: String) -> String { URL(fileURLWithPath: p).resolvingSymlinksInPath().standardized.path }
        return resolved(a) == resolved(b)
    }

    /// Fails now, with the reason, if `path` could not be written later: lets a long job check its
    /// output before it starts. A device is not opened here (a named pipe would block).
    public static func checkWritable(_ path: String) throws(DenoiseError) {
        guard case .file(let file) = try target(for: path) else { return }
        unlink(try createTemporaryFile(besides: file, reportedAs: path))
    }

    /// Writes `path` through `body`, which gets the path to write and whether it is a device. A file
    /// is written to an empty temporary file beside it, then renamed onto it; the temporary file is
    /// removed on any failure, and an existing target keeps its permissions. A device is written in
    /// place.
    static func write(to path: String, _ body: (_ destination: String, _ isDevice: Bool) throws(DenoiseError) -> Void) throws(DenoiseError) {
        guard case .file(let file) = try target(for: path) else {
            try body(path, true)
            return
        }
        let temporary = try createTemporaryFile(besides: file, reportedAs: path)
        let slot = PendingFiles.add(temporary)
        defer { PendingFiles.remove(slot) }
        do throws(DenoiseError) {
            try body(temporary, false)
            var existing = stat()
            if stat(file, &existing) == 0 { chmod(temporary, existing.st_mode & 0o7777) }
            guard rename(temporary, file) == 0 else {
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

    /// The longest file name the folders here take (NAME_MAX on Linux).
    static let nameLimit = 255

    /// `.NAME.PID.RANDOM.tmp` for `name`, with NAME shortened (at a character boundary) so that the
    /// whole fits `nameLimit` bytes whenever `name` itself does.
    static func temporaryName(for name: String, pid: Int32 = getpid(), random: UInt32 = .random(in: 0...UInt32.max)) -> String {
        let suffix = ".\(pid).\(random).tmp"
        var stem = name
        while 1 + stem.utf8.count + suffix.utf8.count > nameLimit, !stem.isEmpty { stem.removeLast() }
        return "." + stem + suffix
    }

    private static func createTemporaryFile(besides path: String, reportedAs reported: String) throws(DenoiseError) -> String {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .unwritableOutput(path: reported, reason: "the folder '\(dir)' does not exist")
        }
        guard url.lastPathComponent.utf8.count <= nameLimit else {
            throw .unwritableOutput(path: reported, reason: "the file name is longer than \(nameLimit) bytes")
        }
        let temporary = url.deletingLastPathComponent().appendingPathComponent(temporaryName(for: url.lastPathComponent)).path
        // Creating the file here, exclusively, is the real test of the folder (access() says yes to
        // root on read-only or virtual file systems).
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            let reason = errno == EACCES || errno == EPERM || errno == EROFS
                ? "the folder '\(dir)' is not writable" : "cannot create a file in '\(dir)' (\(String(cString: strerror(errno))))"
            throw .unwritableOutput(path: reported, reason: reason)
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
