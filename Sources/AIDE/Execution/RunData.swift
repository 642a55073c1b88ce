import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How a run's scripts get the task's data (`exec.data` in task.yaml).
public enum DataSharing: String, Codable, Sendable, Hashable, CaseIterable {
    /// Shared read-only with the sandbox (a bind mount: no copy, nothing to write); a protected copy without one.
    case auto
    /// A read-only copy in each run folder: the run keeps the data as it was, at the cost of its size in disk and time.
    case copy
    /// Never copied: read-only in the sandbox; without one, a link to the data itself, which scripts can change.
    case link
}

/// How one run's scripts see the data, decided when the run starts.
public enum DataPlacement: String, Codable, Sendable, Hashable {
    /// `input` links to the task's data, which the sandbox binds read-only: nothing copied.
    case mounted
    /// `input` links to the task's data and scripts run without a sandbox: they can change it.
    case linked
    /// `input/` is a read-only copy (files 0444, folders 0555).
    case copied
}

/// A cheap fingerprint of a data folder: every entry's relative path and kind, each file's size and
/// modification time, and a hash of its first and last `edgeBytes` bytes (a link's target). It
/// notices files added, removed, resized, touched or rewritten at either end, reading at most
/// 2 × `edgeBytes` per file; a change in the middle of a file that keeps its size and time escapes
/// it. The hash is a 64-bit FNV-1a over 8-byte words: a change detector, not a defence against tampering.
public struct DataFingerprint: Codable, Sendable, Hashable {
    /// Regular files.
    public var files: Int
    /// Their total size.
    public var bytes: Int
    /// 16 hex digits.
    public var digest: String

    /// Bytes hashed at each end of a file.
    public static let edgeBytes = 4096

    public init(files: Int, bytes: Int, digest: String) {
        self.files = files
        self.bytes = bytes
        self.digest = digest
    }

    /// "20003 files, 780.2 MB".
    public var summary: String { "\(files) file\(files == 1 ? "" : "s"), \(DataPreview.formatSize(bytes))" }

    /// The fingerprint of `folder`, and the first entry (relative path) that the world cannot read:
    /// the sandbox's unprivileged user could not read it through a read-only mount.
    public static func scan(_ folder: URL) -> (fingerprint: DataFingerprint, unreadable: String?) {
        let walk = walk(folder, listingDepth: 0)
        return (walk.fingerprint, walk.unreadable)
    }

    /// The fingerprint, the first unreadable entry, and the listings of the folders less than
    /// `listingDepth` deep with the entry counts of those one deeper (what the data preview shows, so
    /// that it lists and stats nothing again), from one walk.
    static func walk(
        _ folder: URL, listingDepth: Int
    ) -> (fingerprint: DataFingerprint, unreadable: String?, listings: DataPreview.Listings) {
        var scan = Scan(listingDepth: listingDepth)
        let root = folder.resolvingSymlinksInPath().path
        var info = stat()
        if stat(root, &info) == 0, info.st_mode & (S_IROTH | S_IXOTH) != (S_IROTH | S_IXOTH) { scan.unreadable = "." }
        scan.walk(root, relative: "", depth: 0)
        scan.flush()
        let fingerprint = DataFingerprint(files: scan.files, bytes: scan.bytes, digest: String(format: "%016llx", scan.hash.value))
        return (fingerprint, scan.unreadable, scan.listings)
    }

    /// Walks the folder in name order, hashing as it goes. Files' edges are read a batch at a time on
    /// several threads (what a file holds is most of a scan's wait), then hashed in walk order with
    /// everything else, so the digest is the one a file-by-file walk gives.
    private struct Scan {
        var hash = WordHash()
        var files = 0
        var bytes = 0
        var unreadable: String?
        let listingDepth: Int
        var listings = DataPreview.Listings()
        /// What to hash since the last flush, in walk order.
        var pending: [Step] = []
        var pendingFiles: [(path: String, size: Int)] = []
        static let batch = 512

        enum Step {
            case text(String)
            case word(UInt64)
            /// The edges of `pendingFiles[index]`.
            case edges(Int)
        }

        init(listingDepth: Int) {
            self.listingDepth = listingDepth
        }

        mutating func walk(_ path: String, relative: String, depth: Int) {
            // Sorted, so the same folder gives the same digest whatever order the file system lists it in.
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
            var listing: [DataPreview.Child]?
            if depth < listingDepth { listing = [] }
            for name in names {
                let full = path + "/" + name
                let rel = relative.isEmpty ? name : relative + "/" + name
                var info = stat()
                guard lstat(full, &info) == 0 else {
                    pending.append(.text("?" + rel))
                    listing?.append(DataPreview.Child(name: name, isDirectory: false, size: 0))
                    continue
                }
                let kind = info.st_mode & S_IFMT
                if listing != nil {
                    // The preview follows links, as stat does.
                    var followed = info
                    let found = kind != S_IFLNK || stat(full, &followed) == 0
                    let isDirectory = found && followed.st_mode & S_IFMT == S_IFDIR
                    listing!.append(DataPreview.Child(
                        name: name, isDirectory: isDirectory, size: found && !isDirectory ? Int(followed.st_size) : 0))
                }
                if kind == S_IFDIR {
                    pending.append(.text("d" + rel))
                    if unreadable == nil, info.st_mode & (S_IROTH | S_IXOTH) != (S_IROTH | S_IXOTH) { unreadable = rel }
                    walk(full, relative: rel, depth: depth + 1)
                } else if kind == S_IFREG {
                    files += 1
                    bytes += Int(info.st_size)
                    if unreadable == nil, info.st_mode & S_IROTH == 0 { unreadable = rel }
                    pending.append(.text("f" + rel))
                    pending.append(.word(UInt64(info.st_size)))
                    pending.append(.word(UInt64(bitPattern: Int64(info.st_mtim.tv_sec)) &* 1_000_000_000 &+ UInt64(info.st_mtim.tv_nsec)))
                    pending.append(.edges(pendingFiles.count))
                    pendingFiles.append((full, Int(info.st_size)))
                    if pendingFiles.count == Self.batch { flush() }
                } else if kind == S_IFLNK {
                    pending.append(.text("l" + rel + "->" + ((try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? "")))
                } else {
                    pending.append(.text("o" + rel))
                }
            }
            if listingDepth > 0, depth <= listingDepth { listings.keep(listing, count: names.count, for: path) }
        }

        /// Reads the pending files' edges (the first and last `edgeBytes`, the whole file when it is
        /// no larger than both) side by side, then hashes every pending step in order.
        mutating func flush() {
            let count = pendingFiles.count
            let edges = EdgeBuffer(files: count)
            defer { edges.deallocate() }
            let files = pendingFiles
            let threads = max(1, min(count, 8))
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                for index in stride(from: thread, to: count, by: threads) { edges.read(files[index].path, size: files[index].size, into: index) }
            }
            for step in pending {
                switch step {
                case .text(let text): hash.add(text: text)
                case .word(let word): hash.add(word)
                case .edges(let index):
                    guard let read = edges[index] else {
                        hash.add(text: "unopenable")
                        continue
                    }
                    if !read.head.isEmpty { hash.add(bytes: read.head) }
                    if !read.tail.isEmpty { hash.add(bytes: read.tail) }
                }
            }
            pending.removeAll(keepingCapacity: true)
            pendingFiles.removeAll(keepingCapacity: true)
        }
    }

    /// Room for the edges of a batch of files, two `edgeBytes` slots each, filled by several threads
    /// at once: each file's slots are written by the one thread that reads that file, and read once
    /// every thread is done.
    private struct EdgeBuffer: @unchecked Sendable {
        private let bytes: UnsafeMutableRawPointer
        /// Per file: bytes read at its head and its tail; a head of -1: it could not be opened.
        private let lengths: UnsafeMutablePointer<(head: Int, tail: Int)>

        init(files: Int) {
            bytes = .allocate(byteCount: max(1, files) * 2 * DataFingerprint.edgeBytes, alignment: 8)
            lengths = .allocate(capacity: max(1, files))
            lengths.initialize(repeating: (0, 0), count: max(1, files))
        }

        func deallocate() {
            bytes.deallocate()
            lengths.deallocate()
        }

        /// Reads the first and last `edgeBytes` of the file at `path` (the whole file when it is no
        /// larger than both) into the slots of file `index`.
        func read(_ path: String, size: Int, into index: Int) {
            let edge = DataFingerprint.edgeBytes
            let slot = bytes + index * 2 * edge
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                lengths[index] = (-1, 0)
                return
            }
            defer { close(descriptor) }
            // A failed read hashes nothing, as an empty one.
            if size <= 2 * edge {
                lengths[index] = (max(0, pread(descriptor, slot, size, 0)), 0)
            } else {
                lengths[index] = (max(0, pread(descriptor, slot, edge, 0)), max(0, pread(descriptor, slot + edge, edge, off_t(size - edge))))
            }
        }

        /// What was read of file `index`'s head and tail; nil when it could not be opened.
        subscript(index: Int) -> (head: UnsafeRawBufferPointer, tail: UnsafeRawBufferPointer)? {
            let (head, tail) = lengths[index]
            guard head >= 0 else { return nil }
            let slot = UnsafeRawPointer(bytes + index * 2 * DataFingerprint.edgeBytes)
            return (UnsafeRawBufferPointer(start: slot, count: head), UnsafeRawBufferPointer(start: slot + DataFingerprint.edgeBytes, count: tail))
        }
    }

    /// FNV-1a, 64 bits, taking 8-byte words (and the tail bytewise): fast enough to run over every
    /// file's edges at each start and resume.
    struct WordHash {
        private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
        private static let prime: UInt64 = 0x0000_0100_0000_01b3

        mutating func add(_ word: UInt64) {
            value = (value ^ word) &* Self.prime
        }

        mutating func add(text: String) {
            var copy = text
            copy.withUTF8 { add(bytes: UnsafeRawBufferPointer($0)) }
            add(0xff)  // a separator: "ab"+"c" differs from "a"+"bc"
        }

        mutating func add(bytes: UnsafeRawBufferPointer) {
            var index = 0
            while index + 8 <= bytes.count {
                add(bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                index += 8
            }
            while index < bytes.count {
                add(UInt64(bytes[index]))
                index += 1
            }
        }
    }
}

/// Where a run's data came from and how its scripts see it: stored with the run (`runs.data_source`),
/// so a resume knows what to compare and where the data is.
public struct RunData: Codable, Sendable, Hashable {
    /// The task's data folder, links resolved.
    public var path: String
    public var placement: DataPlacement
    /// The task's data folder's fingerprint when the run started.
    public var fingerprint: DataFingerprint

    public init(path: String, placement: DataPlacement, fingerprint: DataFingerprint) {
        self.path = path
        self.placement = placement
        self.fingerprint = fingerprint
    }

    /// Decides how a new run's scripts get the data in `folder`, from `exec.data` and the sandbox
    /// they run in (nil: none); `notice` is the one line that says what that means and costs.
    /// `scan`: the folder's, made already (scanned now when nil).
    public static func plan(
        folder: URL, sharing: DataSharing, sandbox: Sandbox?, scan: DataScan? = nil
    ) -> (data: RunData, notice: String) {
        let path = folder.resolvingSymlinksInPath().path
        let (fingerprint, unreadable) = scan.map { ($0.fingerprint, $0.unreadable) } ?? DataFingerprint.scan(folder)
        let what = "\(path) (\(fingerprint.summary))"
        func copied(_ why: String) -> (RunData, String) {
            (RunData(path: path, placement: .copied, fingerprint: fingerprint),
             "data: copying \(what) into the run folder: \(DataPreview.formatSize(fingerprint.bytes)) of disk "
                + "and the time to write it, for every run; \(why)")
        }
        switch (sharing, sandbox) {
        case (.copy, _):
            return copied(sandbox == nil ? "exec.data: copy" : "exec.data: copy (auto shares it read-only in the sandbox, uncopied)")
        case (_, let sandbox?):
            // The sandbox's user (nobody, when aide is root) reads the data through the mount with
            // the permissions it has: what the world cannot read is copied (root reads it) instead.
            if sandbox.user != nil, let unreadable {
                return copied("\(unreadable) in it is not readable by the sandbox's user, so it cannot be shared read-only")
            }
            return (RunData(path: path, placement: .mounted, fingerprint: fingerprint),
                    "data: \(what) shared read-only with the sandbox, not copied")
        case (.link, nil):
            return (RunData(path: path, placement: .linked, fingerprint: fingerprint),
                    "data: \(what) linked, not copied; scripts run WITHOUT a sandbox and can change or delete it "
                        + "(exec.data: copy protects it)")
        case (.auto, nil):
            return copied("without a sandbox a copy protects the data (exec.data: link shares it unprotected)")
        }
    }

    /// What a resume tells the user about the data: nil when nothing changed. A copied run keeps its copy.
    public func changes(now: DataFingerprint?, sandboxed: Bool) -> String? {
        guard placement != .copied else { return nil }
        guard let now else {
            return "warning: the data folder \(path) is gone; the run's scripts will find no input"
        }
        var lines: [String] = []
        if now != fingerprint {
            lines.append(
                "warning: the data in \(path) changed since this run started (then \(fingerprint.summary), now "
                    + "\(now.summary)): its earlier nodes saw other data")
        }
        if placement == .mounted && !sandboxed {
            lines.append("warning: this run's scripts now run WITHOUT a sandbox and can change the data in \(path)")
        }
        return lines.isEmpty ? nil : lines.joined(separator: "\n")
    }

    /// The data folder's fingerprint now, nil when it is no longer a folder.
    public func currentFingerprint() -> DataFingerprint? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
        return DataFingerprint.scan(URL(fileURLWithPath: path)).fingerprint
    }
}

extension RunWorkspace {
    /// Creates the run folder with its data placed as `data` says: a read-only copy, or `input` as a
    /// link to the task's data folder (which the sandbox binds read-only in its place).
    public func create(data: RunData) throws {
        switch data.placement {
        case .copied:
            try create(copying: URL(fileURLWithPath: data.path))
        case .mounted, .linked:
            let files = FileManager.default
            guard !files.fileExists(atPath: root.path) else {
                throw WorkspaceError.exists(path: root.path)
            }
            try files.createDirectory(at: nodes, withIntermediateDirectories: true)
            try files.createSymbolicLink(atPath: input.path, withDestinationPath: data.path)
        }
    }

    /// Refuses a runs folder inside the data folder: scripts would see every run (and a copy would copy itself).
    public static func checkOutside(data: URL, runsDirectory: URL) throws {
        let data = data.resolvingSymlinksInPath().path
        let runs = runsDirectory.resolvingSymlinksInPath().path
        if runs == data || runs.hasPrefix(data.hasSuffix("/") ? data : data + "/") {
            throw WorkspaceError.runsInsideData(runs: runs, data: data)
        }
    }
}

extension Sandbox {
    /// A folder bound read-only into the sandbox at `destination` (the mount point made there).
    public struct ReadOnlyMount: Sendable, Hashable {
        /// The folder on the host, links resolved.
        public var source: String
        /// Where scripts see it.
        public var destination: String

        public init(source: String, destination: String? = nil) {
            self.source = source
            self.destination = destination ?? source
        }
    }
}
