import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive claim on a run folder, so two processes never write one run. It is an advisory
/// `flock` on `run.lock`: the kernel drops it when the holder exits, even on `kill -9`, so a
/// crashed run can be resumed at once.
public final class RunLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock or throws, saying which process holds it.
    public init(folder: URL) throws {
        let path = folder.appendingPathComponent("run.lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WorkspaceError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = read(fd, &buffer, buffer.count)
            close(fd)
            let holder = count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : "another process"
            throw WorkspaceError(
                "run \(folder.lastPathComponent) is being written by process \(holder.trimmingCharacters(in: .whitespacesAndNewlines)); "
                    + "wait for it to finish or stop it first")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        descriptor = fd
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
