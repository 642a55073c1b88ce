import AIDETesting
import Foundation
import Testing

@testable import AIDE

/// A resume that cannot start (its backend's check fails, a key is missing) changes nothing: the run
/// keeps its status and its node folders, instead of being marked running with no one running it.
struct ResumeRefusalTests {
    private typealias A = ScriptedAnswers
    private struct Refused: Error {}

    @Test func aResumeWhoseDependenciesFailLeavesTheRunAsItWas() async throws {
        let task = try SyntheticTask(steps: 4)
        defer { task.remove() }
        var lines: [String] = []
        for _ in 0..<2 { lines += [A.code(A.goodScript(metric: 0.3)), A.review(isBug: false, metric: 0.3)] }
        let answers = try A.file(lines)
        let runs = FileManager.default.temporaryDirectory.appendingPathComponent("aide-runs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: runs) }
        let options = RunOptions(steps: 1, seed: 3, source: .scripted(file: answers.path))
        let first = await (try SearchRun.start(taskFile: task.taskFile, options: options, runsDirectory: runs)).run()
        #expect(first.status == .finished)
        let nodes = first.folder.appendingPathComponent("nodes")
        let folders = try FileManager.default.contentsOfDirectory(atPath: nodes.path).sorted()
        #expect(!folders.isEmpty)

        #expect(throws: Refused.self) {
            _ = try SearchRun.resume(runFolder: first.folder, dependencies: { _ in throw Refused() })
        }
        let store = try RunStore.openReadOnly(path: first.folder.appendingPathComponent(RunStore.fileName))
        defer { try? store.close() }
        #expect(try store.run()?.status == .finished)
        let after = try FileManager.default.contentsOfDirectory(atPath: nodes.path).sorted()
        #expect(after == folders, "\(folders) -> \(after)")
        // And the run still resumes once its dependencies can be built.
        let second = await (try SearchRun.resume(runFolder: first.folder, options: options.resumable)).run()
        #expect(second.status == .finished)
    }
}
