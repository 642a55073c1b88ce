import AIDE
import Foundation

/// Follows one run for every page that watches it. One reader (a read-only connection in WAL
/// mode, which never holds up the writer) looks every `interval` for rows inserted since it last
/// looked (`LiveRun`: a read of what changed, not of the run); when there are any, the update is
/// made once per distinct page position and handed to every watcher there. Each watcher gets
/// Server-Sent Events: `status` (the run's state, heartbeat and workers) whenever the run changes,
/// and `nodes` (the nodes committed since it last got some, as `HTMLReport.update`) whenever nodes
/// are committed.
actor RunFeed {
    let key: String
    /// How often the run is looked at while anyone watches.
    let interval: Duration
    private var live: LiveRun
    private var workers = 1
    private var watchers: [UUID: Watcher] = [:]
    private var polling: Task<Void, Never>?

    private struct Watcher {
        let continuation: AsyncStream<[UInt8]>.Continuation
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
    func watch(after commits: Int) -> AsyncStream<[UInt8]> {
        let (stream, continuation) = AsyncStream.makeStream(of: [UInt8].self, bufferingPolicy: .bufferingNewest(256))
        let id = UUID()
        continuation.onTermination = { _ in Task { await self.drop(id) } }
        // Brings the others up to date first, so every watcher is at the latest commit after this.
        refresh()
        var watcher = Watcher(continuation: continuation, commits: max(0, commits))
        if live.report != nil {
            continuation.yield(event("status", statusJSON()))
            if live.commits > watcher.commits, let update = try? live.update(afterCommits: watcher.commits) {
                continuation.yield(event("nodes", update))
                watcher.commits = live.commits
            }
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
        while !Task.isCancelled, !watchers.isEmpty {
            try? await Task.sleep(for: interval)
            if refresh() {
                quiet = 0
            } else {
                quiet += 1
                // A comment now and then: a closed connection is noticed when writing to it.
                if quiet % 75 == 0 { broadcast(Array(": still here\n\n".utf8)) }
            }
        }
        polling = nil
    }

    /// Reads what the run committed since the last look; when anything changed, every watcher gets
    /// the status and the nodes it lacks. Returns whether anything changed.
    @discardableResult
    private func refresh() -> Bool {
        guard (try? live.advance()) == true, live.report != nil else { return false }
        broadcast(event("status", statusJSON()))
        // Watchers at the same position share one update.
        var updates: [Int: [UInt8]] = [:]
        for (id, watcher) in watchers where watcher.commits < live.commits {
            if updates[watcher.commits] == nil {
                updates[watcher.commits] = (try? live.update(afterCommits: watcher.commits)).map { event("nodes", $0) }
            }
            guard let update = updates[watcher.commits] else { continue }
            watcher.continuation.yield(update)
            watchers[id]?.commits = live.commits
        }
        return true
    }

    private func broadcast(_ bytes: [UInt8]) {
        for watcher in watchers.values { watcher.continuation.yield(bytes) }
    }

    private func statusJSON() -> [UInt8] {
        let now = Date()
        let run = live.snapshot.run
        let status = LiveStatus(
            state: run.map { RunState(status: $0.status, updatedAt: $0.updatedAt, now: now) }, commits: live.commits,
            updatedAt: run?.updatedAt, now: now, workers: workers)
        return (try? LiveStatus.encoder.encode(status)).map(Array.init) ?? Array("{}".utf8)
    }

    private func event(_ name: String, _ data: [UInt8]) -> [UInt8] {
        // JSON from the encoders here never holds a raw newline, so it is one `data:` line.
        Array("event: \(name)\ndata: ".utf8) + data + Array("\n\n".utf8)
    }
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
