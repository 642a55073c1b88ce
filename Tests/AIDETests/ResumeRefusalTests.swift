import AIDETesting
import Foundation
import Testing

@testable import AIDE

/// A resume that cannot start (its backend's check fails, a key is missing) changes nothing: the run
/// keeps its status and its node folders, instead of being marked running with no one running it.
struct ResumeRefusalTests {
    private struct Refused: Error {}

    @Test func aResumeWhoseDependenciesFailLeavesTheRunAsItWas() async throws {
        let scripted = try ScriptedRun(taskSteps: 4, answers: ScriptedRun.goodSteps(2))
        defer { scripted.remove() }
        let first = try await scripted.start()
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
        let second = try await scripted.resume(first.folder)
        #expect(second.status == .finished)
    }
}
