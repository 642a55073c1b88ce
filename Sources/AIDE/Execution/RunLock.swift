import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive claim on a run folder, so two processes never write one run. It is an advisory
/// `flock` on the run folder itself, not on a file in it: a script that deletes or replaces a lock
/// file cannot free the run for a second writer (and in the sandbox it cannot see the folder at
/// all). The kernel drops the lock when the holder exits, even on `kill -9`, so a crashed run can
/// be resumed at once. `run.lock` only names the holder's process id, for the message.
public final class RunLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock or throws, saying which process holds it.
    public init(folder: URL) throws {
        let fd = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw WorkspaceError.cannotOpen(path: folder.path, reason: String(cString: strerror(errno))) }
        let note = folder.appendingPathComponent("run.lock")
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            let holder = (try? String(contentsOf: note, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            throw WorkspaceError.locked(run: folder.lastPathComponent, holder: holder.flatMap { $0.isEmpty ? nil : $0 })
        }
        try? Data("\(getpid())\n".utf8).write(to: note, options: .atomic)
        descriptor = fd
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
