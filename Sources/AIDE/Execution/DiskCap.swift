import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The most a script may write to its node folder in all (`exec.max_disk_mb`): the file-size cap
/// bounds each file, this bounds their sum, so many files cannot fill the disk either.
///
/// Kept cheap: every `tick` the script's watch (`Watch.check`, in the task that also keeps its
/// timeout) asks the file system how much it holds (`statvfs`, one
/// call); it walks the folder (`du`-like, links not followed, stopping once past the cap) only when
/// the file system grew by more than the room the script had left at the last walk, or when a
/// quiet interval has passed (at least `quietInterval`, and long enough that walking takes at most
/// `walkShare` of one core).
public struct DiskCap: Sendable, Hashable {
    /// The cap, bytes.
    public var limitBytes: Int

    /// Every file or folder counts at least this much, so a flood of empty files is bounded too.
    public static let smallestCharge = 4096
    /// Folders nested deeper than this stop the script (the walk keeps one descriptor per level).
    public static let deepest = 64
    /// How often the file system's total is read.
    public static let tick = Duration.milliseconds(500)
    /// The longest the folder goes unwalked while the file system's total says nothing.
    public static let quietInterval = Duration.seconds(5)
    /// The most of one core the walks may take.
    public static let walkShare = 0.02

    public init(limitBytes: Int) {
        self.limitBytes = limitBytes
    }

    /// The reason the node gets when its script passed the cap.
    public var reason: String { "wrote more than \(limitBytes >> 20) MB to its folder (exec.max_disk_mb)" }

    /// What one walk of a folder found.
    public struct Usage: Sendable, Hashable {
        /// Bytes counted (allocated blocks; at least `smallestCharge` an entry), up to where the walk stopped.
        public var bytes: Int
        /// Files and folders counted.
        public var entries: Int
        /// Why the script must stop, when it must: past the cap, folders too deep, or one it cannot read.
        public var exceeded: String?
    }

    /// Walks `folder` without following links, stopping as soon as the count passes the cap.
    public func measure(_ folder: URL) -> Usage {
        var usage = Usage(bytes: 0, entries: 0, exceeded: nil)
        let descriptor = open(folder.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return usage }
        walk(descriptor, depth: 1, into: &usage)
        return usage
    }

    /// Counts what the folder open at `descriptor` holds (and closes it).
    private func walk(_ descriptor: Int32, depth: Int, into usage: inout Usage) {
        guard let directory = fdopendir(descriptor) else {
            close(descriptor)
            return
        }
        defer { closedir(directory) }
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        while usage.exceeded == nil, let entry = readdir(directory) {
            let name = UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: CChar.self)
            // "." and "..".
            if name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0)) { continue }
            var info = stat()
            guard fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            usage.entries += 1
            usage.bytes += max(Int(info.st_blocks) * 512, Self.smallestCharge)
            if usage.bytes > limitBytes {
                usage.exceeded = reason
            } else if (info.st_mode & S_IFMT) == S_IFDIR {
                guard depth < Self.deepest else {
                    usage.exceeded = "made folders more than \(Self.deepest) deep"
                    return
                }
                let child = openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if child >= 0 {
                    walk(child, depth: depth + 1, into: &usage)
                } else if errno == EACCES {
                    // What it holds cannot be counted (a script without the sandbox can chmod 000).
                    usage.exceeded = "made a folder aide cannot read"
                }
            }
        }
    }

    /// Bytes in use on the file system that holds `folder`, or nil when it cannot be asked.
    static func filesystemUsed(_ folder: URL) -> Int? {
        var info = statvfs()
        guard statvfs(folder.path, &info) == 0 else { return nil }
        return Int(info.f_blocks - info.f_bfree) * Int(info.f_frsize)
    }

    /// One script's watch: `check` it every `tick` while the script runs.
    public struct Watch: Sendable {
        public let cap: DiskCap
        public let folder: URL
        // Nothing is walked at the start (the harness wrote only the script): a script that ends
        // within the first tick costs nothing but this statvfs.
        private var usage = Usage(bytes: 0, entries: 0, exceeded: nil)
        private var filesystemAtWalk: Int?
        private var walked = ContinuousClock.now
        private var quiet = DiskCap.quietInterval

        public init(cap: DiskCap, folder: URL) {
            self.cap = cap
            self.folder = folder
            filesystemAtWalk = DiskCap.filesystemUsed(folder)
        }

        /// Why the script must stop now, or nil: a statvfs, and a walk when it may be over the cap
        /// or the quiet interval has passed.
        public mutating func check() async -> String? {
            // The script cannot have written more than the file system grew by (unless something
            // else deleted as much meanwhile, which the quiet interval's walk catches).
            let grown = DiskCap.filesystemUsed(folder).flatMap { now in filesystemAtWalk.map { now - $0 } }
            let mayBeOver = grown.map { $0 >= cap.limitBytes - usage.bytes } ?? true
            guard mayBeOver || ContinuousClock.now - walked >= quiet else { return nil }
            filesystemAtWalk = DiskCap.filesystemUsed(folder)
            let start = ContinuousClock.now
            usage = await cap.measureAside(folder)
            walked = ContinuousClock.now
            quiet = max(DiskCap.quietInterval, (walked - start) / DiskCap.walkShare)
            return usage.exceeded
        }
    }

    /// The same cap kept by bash where no aide runs (a Slurm job on its compute node): lines that
    /// start, in the background, a watch of `folder` while the process `$process` (a variable name)
    /// runs. Once the folder holds more than the cap, counted as `measure` counts (allocated
    /// blocks, at least `smallestCharge` an entry, links not followed), it appends `stopped
    /// <reason>` to the file `$status` names and kills the process's group. It walks at least a
    /// second apart, and seldom enough that walking takes at most `walkShare` of a core. The
    /// watch's pid is left in `$disk_watch`.
    func watchScript(folder: String, process: String, status: String) -> String {
        let quote = SlurmJob.quote
        let charge = Self.smallestCharge
        return [
            "(",
            "    trap 'kill $nap 2>/dev/null; exit 0' TERM",
            "    pause=1",
            "    while :; do",
            "        sleep \"$pause\" & nap=$!",
            "        wait $nap",
            "        kill -0 \"$\(process)\" 2>/dev/null || exit 0",
            "        began=$(date +%s%N)",
            "        used=$(find \(quote(folder)) -mindepth 1 -printf '%b\\n' 2>/dev/null"
                + " | awk '{ b = $1 * 512; s += (b < \(charge) ? \(charge) : b) } END { printf \"%.0f\", s }')",
            "        if ((${used:-0} > \(limitBytes))); then",
            "            echo \(quote("stopped " + reason)) >> \"$\(status)\"",
            "            kill -KILL -- \"-$\(process)\" 2>/dev/null || kill -KILL \"$\(process)\"",
            "            exit 0",
            "        fi",
            "        pause=$(( ($(date +%s%N) - began) / 1000000 * \(Int((1 / Self.walkShare).rounded())) / 1000 ))",
            "        if ((pause < 1)); then pause=1; fi",
            "    done",
            ") &",
            "disk_watch=$!",
        ].joined(separator: "\n")
    }

    /// `measure` on a thread of its own: a large folder must not hold up the harness's tasks.
    func measureAside(_ folder: URL) async -> Usage {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .utility).async { continuation.resume(returning: self.measure(folder)) }
        }
    }

    /// Empties `folder` but for the script (`runfile.py`): what a script that passed the cap wrote
    /// is removed, so the disk is given back and the run goes on.
    public static func cleanUp(_ folder: URL, keeping kept: Set<String> = [PythonInterpreter.scriptName]) {
        let files = FileManager.default
        for name in (try? files.contentsOfDirectory(atPath: folder.path)) ?? [] where !kept.contains(name) {
            let item = folder.appendingPathComponent(name)
            // As root nothing needs unlocking (and no chmod may then be steered through a swapped link).
            if (try? files.removeItem(at: item)) == nil, getuid() != 0 {
                // A folder the script made unwritable (it runs as aide's user without the sandbox):
                // folders only, never through a link.
                func unlock(_ path: String) {
                    var info = stat()
                    if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { _ = chmod(path, 0o700) }
                }
                unlock(item.path)
                // Each folder unlocked as it is met, before the walk enters it.
                if let walker = files.enumerator(atPath: item.path) {
                    for case let relative as String in walker { unlock(item.appendingPathComponent(relative).path) }
                }
                try? files.removeItem(at: item)
            }
        }
    }
}
