import AIDE
import Foundation
import Hummingbird
import XCTest

@testable import AIDEServe

/// What one look of `RunFeed` costs must not grow with the pages that watch: the watchers at one
/// position get one chunk (status and nodes together), made once; and a run whose files have not
/// changed for a while is not read at all.
final class RunFeedTests: XCTestCase {
    typealias Runs = DashboardServerTests

    func testWatchersAtOnePositionGetOneChunkWithTheStatusAndTheNodes() async throws {
        let (folder, store) = try Runs.makeRuns(nodes: 2)
        defer { try? FileManager.default.removeItem(at: folder) }
        let feed = RunFeed(store: try RunStore.openReadOnly(path: store.path), key: Runs.runID, interval: .milliseconds(20))
        var first = await feed.watch(after: 2).makeAsyncIterator()
        var second = await feed.watch(after: 2).makeAsyncIterator()
        var behind = await feed.watch(after: 0).makeAsyncIterator()
        let opened = await first.next()
        let opening = try XCTUnwrap(opened)
        XCTAssertTrue(String(buffer: opening).hasPrefix("event: status\n"))
        XCTAssertFalse(String(buffer: opening).contains("event: nodes"), "the page has both nodes")
        _ = await second.next()
        let caughtUp = await behind.next()
        let catchUp = String(buffer: try XCTUnwrap(caughtUp))
        XCTAssertTrue(catchUp.contains("event: nodes") && catchUp.contains("\"node-1\""), catchUp)

        try Runs.commit(store, step: 2)
        let (firstNext, secondNext, behindNext) = (await first.next(), await second.next(), await behind.next())
        let one = try XCTUnwrap(firstNext)
        let two = try XCTUnwrap(secondNext)
        let three = try XCTUnwrap(behindNext)
        XCTAssertEqual(one, two, "the same bytes for the same position")
        XCTAssertEqual(one, three, "a page that caught up is at the same position")
        let text = String(buffer: one)
        XCTAssertTrue(text.hasPrefix("event: status\ndata: {"), text)
        XCTAssertTrue(text.contains("\n\nevent: nodes\ndata: {\"commits\":3,"), text)
        XCTAssertTrue(text.contains("\"node-2\"") && !text.contains("\"node-1\":"), "only the new node's details")
        await feed.close()
    }

    func testAQuietRunIsNotReadAgainAndACommitChangesItsMark() throws {
        let (folder, store) = try Runs.makeRuns(nodes: 1)
        defer { try? FileManager.default.removeItem(at: folder) }
        // The run's files last changed an hour ago.
        for file in [store.path.path, store.path.path + "-wal"] where FileManager.default.fileExists(atPath: file) {
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)], ofItemAtPath: file)
        }
        let quiet = StoreMark(store: store.path)
        XCTAssertTrue(quiet.settled)
        XCTAssertEqual(StoreMark(store: store.path), quiet, "nothing written: a look need not read")

        try Runs.commit(store, step: 1)
        let written = StoreMark(store: store.path)
        XCTAssertNotEqual(written, quiet, "a commit changes the mark")
        XCTAssertFalse(written.settled, "just written: the next look reads even if the mark does not change")
    }
}
