import AIDE
import Foundation
import Hummingbird

/// Follows one run for every page that watches it. One reader (a read-only connection in WAL
/// mode, which never holds up the writer) looks every `interval` for rows inserted since it last
/// looked (`LiveRun`: a read of what changed, not of the run); when there are any, the update is
/// made once per distinct page position and handed to every watcher there. Each watcher gets
/// Server-Sent Events: `status` (the run's state, heartbeat and workers) whenever the run changes,
/// and `nodes` (the nodes committed since it last got some, as `HTMLReport.update`) whenever nodes
/// are committed.
///
/// The work of a look does not grow with the watchers: each event is encoded once, and the watchers
/// at one page position get the same bytes (one buffer, one write each). While nodes arrive at
/// every look, looks come half as often (`busyInterval`), so a run committing faster than the pages
/// can use costs fewer, larger updates; and a look at a run whose files have not changed for a
/// while does not read the database (`StoreMark`).
actor RunFeed {
    let key: String
    /// How often the run is looked at while anyone watches.
    let interval: Duration
    /// How often while every look finds new nodes.
    var busyInterval: Duration { interval * 2 }
    private var live: LiveRun
    private var workers = 1
    private var watchers: [UUID: Watcher] = [:]
    private var polling: Task<Void, Never>?
    private var mark: StoreMark?

    private struct Watcher {
        let continuation: AsyncStream<ByteBuffer>.Continuation
        /// Nodes this watcher already has, in commit order.
        var commits: Int
    }

    init(store: RunStore, key: String, interval: Duration = .milliseconds(200)) {
        self.live = LiveRun(store: store)
        self.key = key
        self.interval = interval
        if let spec = try? store.run()?.spec() { workers = spec.search.workers }
    }

    /// A stream of SSE bytes for a page that has the first `commits` nodes. It starts with the
    /// run's status and, when the page is behind, the nodes it lacks.
    func watch(after commits: Int) -> AsyncStream<ByteBuffer> {
        let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingNewest(256))
        let id = UUID()
        continuation.onTermination = { _ in Task { await self.drop(id) } }
        // Brings the others up to date first, so every watcher is at the latest commit after this.
        refresh()
        var watcher = Watcher(continuation: continuation, commits: max(0, commits))
        if live.report != nil {
            let chunk = chunk(after: watcher.commits, status: statusJSON())
            continuation.yield(chunk.bytes)
            if chunk.hasNodes { watcher.commits = live.commits }
        }
        watchers[id] = watcher
        if polling == nil { polling = Task { await self.poll() } }
        return stream
    }

    /// Ends every stream (the server is shutting down).
    func close() {
        for watcher in watchers.values { watcher.continuation.finish() }
        watchers = [:]
        polling?.cancel()
        polling = nil
    }

    private func drop(_ id: UUID) {
        watchers[id] = nil
    }

    private func poll() async {
        var quiet = 0
        var busy = false
        while !Task.isCancelled, !watchers.isEmpty {
            try? await Task.sleep(for: busy ? busyInterval : interval)
            let before = live.commits
            if refresh() {
                quiet = 0
                busy = live.commits > before
            } else {
                quiet += 1
                busy = false
                // A comment now and then: a closed connection is noticed when writing to it.
                if quiet % 75 == 0 {
                    let comment = ByteBuffer(string: ": still here\n\n")
                    for watcher in watchers.values { watcher.continuation.yield(comment) }
                }
            }
        }
        polling = nil
    }

    /// Reads what the run committed since the last look; when anything changed, every watcher gets
    /// the status and the nodes it lacks, in one chunk made once per page position. Returns whether
    /// anything changed.
    @discardableResult
    private func refresh() -> Bool {
        let now = StoreMark(store: live.store.path)
        if let mark, mark == now, mark.settled { return false }
        mark = now
        guard (try? live.advance()) == true, live.report != nil else { return false }
        let status = statusJSON()
        var chunks: [Int: Chunk] = [:]
        for (id, watcher) in watchers {
            let position = min(watcher.commits, live.commits)
            let chunk = chunks[position] ?? chunk(after: position, status: status)
            chunks[position] = chunk
            watcher.continuation.yield(chunk.bytes)
            // A watcher whose update could not be made keeps its place, to get the nodes next time.
            if chunk.hasNodes { watchers[id]?.commits = live.commits }
        }
        return true
    }

    private struct Chunk {
        var bytes = ByteBuffer()
        var hasNodes = false
    }

    /// The status and, for a page behind the last commit, the nodes it lacks.
    private func chunk(after position: Int, status: [UInt8]) -> Chunk {
        var chunk = Chunk()
        Self.write("status", status, to: &chunk.bytes)
        if position < live.commits, let update = try? live.update(afterCommits: position) {
            Self.write("nodes", update, to: &chunk.bytes)
            chunk.hasNodes = true
        }
        return chunk
    }

    private func statusJSON() -> [UInt8] {
        let now = Date()
        let run = live.snapshot.run
        let status = LiveStatus(
            state: run.map { RunState(status: $0.status, updatedAt: $0.updatedAt, now: now) }, commits: live.commits,
            updatedAt: run?.updatedAt, now: now, workers: workers)
        return (try? LiveStatus.encoder.encode(status)).map(Array.init) ?? Array("{}".utf8)
    }

    /// Appends one event. JSON from the encoders here never holds a raw newline, so it is one `data:` line.
    private static func write(_ name: String, _ data: [UInt8], to chunk: inout ByteBuffer) {
        chunk.reserveCapacity(minimumWritableBytes: name.utf8.count + data.count + 16)
        chunk.writeString("event: ")
        chunk.writeString(name)
        chunk.writeString("\ndata: ")
        chunk.writeBytes(data)
        chunk.writeString("\n\n")
    }
}

/// The size and modification time of a run's database and its write-ahead log: every commit
/// writes one of them. When a look finds the same mark as the last one, and the newest change
/// was well before that last look (so a later write cannot share its coarse timestamp), nothing
/// was committed since: the look need not read the database.
struct StoreMark: Equatable {
    private var files: [FileMark]
    /// Whether the newest change was more than a second before this mark was taken.
    private(set) var settled: Bool

    private struct FileMark: Equatable {
        var size: Int64
        var modified: timespec

        static func == (a: FileMark, b: FileMark) -> Bool {
            a.size == b.size && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
        }
    }

    init(store: URL) {
        var taken = timespec()
        clock_gettime(CLOCK_REALTIME, &taken)
        files = [store.path, store.path + "-wal"].map { path in
            var info = stat()
            guard stat(path, &info) == 0 else { return FileMark(size: -1, modified: timespec()) }
            return FileMark(size: Int64(info.st_size), modified: info.st_mtim)
        }
        let newest = files.map { $0.modified.tv_sec }.max() ?? 0
        settled = taken.tv_sec - newest >= 2
    }

    static func == (a: StoreMark, b: StoreMark) -> Bool { a.files == b.files }
}

/// The `status` event of a run's stream.
struct LiveStatus: Codable, Sendable {
    var state: RunState?
    /// Nodes committed.
    var commits: Int
    var updatedAt: Date?
    /// The server's clock, so a page can say how long ago `updated_at` was.
    var now: Date
    /// Steps the run keeps in flight at once (its search.workers).
    var workers: Int

    enum CodingKeys: String, CodingKey {
        case state, commits, now, workers
        case updatedAt = "updated_at"
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}

/// One feed per run being watched, opened on first watch.
actor RunFeeds {
    private var feeds: [String: RunFeed] = [:]
    let interval: Duration

    init(interval: Duration = .milliseconds(200)) {
        self.interval = interval
    }

    func feed(key: String, database: URL) throws -> RunFeed {
        if let feed = feeds[key] { return feed }
        let feed = RunFeed(store: try RunStore.openReadOnly(path: database), key: key, interval: interval)
        feeds[key] = feed
        return feed
    }

    func close() async {
        for feed in feeds.values { await feed.close() }
    }
}
