import Foundation
import GRDB
import Testing

@testable import AIDE

/// docs/SCHEMA.md says what the code writes: its schema dump is the one a new run.sqlite has (after
/// every migration), and the values it lists for the stored enums are their raw values.
struct SchemaDocTests {
    static let doc: String = {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/SCHEMA.md")
        return (try? String(contentsOf: file, encoding: .utf8)) ?? ""
    }()

    /// The statements a new run.sqlite is made of, as `sqlite3 run.sqlite "SELECT sql || ';' FROM
    /// sqlite_master WHERE sql NOT NULL ORDER BY rowid"` prints them.
    static func realSchema() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aide-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try RunStore(path: folder.appendingPathComponent("run.sqlite"))
        defer { try? store.close() }
        return try store.read { db in
            try String.fetchAll(db, sql: "SELECT sql || ';' FROM sqlite_master WHERE sql NOT NULL ORDER BY rowid")
        }.joined(separator: "\n")
    }

    @Test func theSchemaDumpIsTheOneANewDatabaseHas() throws {
        let marker = "<!-- schema dump: SchemaDocTests -->\n```text\n"
        let start = try #require(Self.doc.range(of: marker), "docs/SCHEMA.md lost its schema dump marker")
        let dump = Self.doc[start.upperBound...].components(separatedBy: "\n```").first ?? ""
        let real = try Self.realSchema()
        #expect(dump == real, """
            docs/SCHEMA.md's schema dump is not what a new run.sqlite holds; replace the block after \
            "\(marker.prefix(35))" with:
            \(real)
            """)
    }

    /// The row of `column` in the table of `table` (`| \`column\` | …`).
    static func row(_ column: String, in table: String) -> String? {
        guard let section = Self.doc.components(separatedBy: "### `\(table)`").dropFirst().first else { return nil }
        return section.components(separatedBy: "\n").first { $0.hasPrefix("| `\(column)` |") }
    }

    @Test func theStoredEnumsListEveryValueTheCodeWrites() throws {
        let values: [(String, String, [String])] = [
            ("purpose", "llm_calls", CallPurpose.allCases.map(\.rawValue)),
            ("stage", "nodes", Stage.allCases.map(\.rawValue)),
            ("metric_source", "nodes", MetricSource.allCases.map(\.rawValue)),
            ("status", "runs", RunStatus.allCases.map(\.rawValue)),
        ]
        for (column, table, raws) in values {
            let row = try #require(Self.row(column, in: table), "no row for \(table).\(column)")
            for raw in raws { #expect(row.contains("`\(raw)`"), "\(table).\(column) does not list `\(raw)`: \(row)") }
        }
    }
}
