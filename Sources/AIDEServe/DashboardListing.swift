import AIDE
import Foundation

/// `/api/runs`: the listing of `aide report` (one row per run folder) with each run's state, and
/// the benches of the folder with their cases counted by status.
public struct DashboardListing: Sendable, Codable, Hashable {
    public var schema = "aide.serve/1"
    public var kind = "listing"
    public var runs: [Run]
    public var benches: [Bench]

    public struct Run: Sendable, Codable, Hashable {
        /// The row of `aide report`'s listing (docs/REPORT_JSON.md).
        public var row: RunListing.Row
        /// The name the API and pages use for the run: its path under the runs folder.
        public var key: String
        /// live, finished, interrupted, failed, or stopped (still marked running, heartbeat gone); nil when unreadable.
        public var state: RunState?

        public func encode(to encoder: any Encoder) throws {
            try row.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(key, forKey: .key)
            try container.encode(state, forKey: .state)
        }

        public init(from decoder: any Decoder) throws {
            row = try RunListing.Row(from: decoder)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            key = try container.decode(String.self, forKey: .key)
            state = try container.decodeIfPresent(RunState.self, forKey: .state)
        }

        init(row: RunListing.Row, key: String, state: RunState?) {
            self.row = row
            self.key = key
            self.state = state
        }

        enum CodingKeys: String, CodingKey { case key, state }
    }

    public struct Bench: Sendable, Codable, Hashable {
        public var key: String
        public var name: String
        public var status: String
        public var cases: Int
        /// Cases by status (pending, running, finished, failed, interrupted).
        public var counts: [String: Int]
        public var updatedAt: Date?
        public var error: String?

        enum CodingKeys: String, CodingKey {
            case key, name, status, cases, counts, error
            case updatedAt = "updated_at"
        }
    }

    /// Reads every run and bench directly under `folder`, read-only.
    public static func load(_ folder: RunsFolder, now: Date = Date()) throws -> DashboardListing {
        let listing: RunListing
        do {
            listing = try RunListing.load(runsDirectory: folder.root)
        } catch {
            throw ServeError("\(error)")
        }
        let runs = listing.runs.map { row in
            Run(row: row, key: row.id, state: row.status.map { RunState(status: $0, updatedAt: row.updatedAt, now: now) })
        }
        var benches: [Bench] = []
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.root.path)) ?? []
        for name in names.sorted() where RunsFolder.isSafe(name) {
            guard let bench = folder.benchFolder([name]) else { continue }
            do {
                let index = try BenchIndex.open(bench, readOnly: true)
                defer { try? index.close() }
                let record = try index.bench()
                let cases = try index.cases()
                var counts: [String: Int] = [:]
                for benchCase in cases { counts[benchCase.status.rawValue, default: 0] += 1 }
                benches.append(
                    Bench(
                        key: name, name: record.name, status: record.status.rawValue, cases: cases.count, counts: counts,
                        updatedAt: record.updatedAt, error: nil))
            } catch {
                benches.append(Bench(key: name, name: name, status: "unreadable", cases: 0, counts: [:], updatedAt: nil, error: "\(error)"))
            }
        }
        return DashboardListing(runs: runs, benches: benches)
    }
}
