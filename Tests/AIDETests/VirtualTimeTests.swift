@testable import AIDE
import AIDETesting
import Foundation
import Testing

/// Budgets, timeouts, the heartbeat and the script-slot cap, in virtual time: scripts run on a
/// `FakeInterpreter` whose durations pass on a `TestClock` the test advances by hand; the test
/// waits on events (scripts started, tasks asleep on the clock), never on the wall clock.
struct VirtualTimeTests {
    private typealias A = ScriptedAnswers

    private struct Fixture {
        let task: SyntheticTask
        let clock = TestClock()
        let interpreter: FakeInterpreter
        let run: SearchRun
        let runs: URL

        init(steps: Int, script: FakeScript, configure: (inout TaskSpec) -> Void) throws {
            task = try SyntheticTask(steps: steps)
            var lines: [String] = []
            for _ in 0..<steps { lines += [A.code(A.goodScript(metric: 0.3)), A.review(isBug: false, metric: 0.3)] }
            var loaded = try TaskLoader.load(task.taskFile)
            configure(&loaded.spec)
            interpreter = FakeInterpreter(clock: clock) { _ in script }
            var dependencies = try RunAssembly.dependencies(
                for: loaded, backend: try ScriptedBackend(file: try A.file(lines)), interpreter: interpreter)
            dependencies.clock = clock
            runs = FileManager.default.temporaryDirectory.appendingPathComponent("aide-runs-\(UUID().uuidString)")
            run = try SearchRun.start(task: loaded, runsDirectory: runs, dependencies: dependencies)
        }

        func remove() {
            task.remove()
            try? FileManager.default.removeItem(at: runs)
        }
    }

    /// 40 s scripts under a 100 s budget: steps start at 0 and 40 s; the third, started at 80 s, gets
    /// only the 20 s left as its timeout, and the run stops at 100 s.
    @Test func theTimeBudgetStopsTheRunAndShortensTheLastScript() async throws {
        let fixture = try Fixture(steps: 10, script: FakeScript(duration: .seconds(40), output: "ok\n")) {
            $0.budget.timeLimit = 100
            $0.budget.scriptTimeout = 600
        }
        defer { fixture.remove() }
        let work = Task { await fixture.run.run() }
        for started in 1...3 {
            await fixture.interpreter.waitForStarts(started)
            await fixture.clock.waitForSleepers(2)  // the script and the heartbeat
            fixture.clock.advance(by: .seconds(40))
        }
        let summary = await work.value
        #expect(summary.status == .finished)
        #expect(summary.stopReason == "time budget (100 s) reached")
        #expect(summary.nodes == 3)
        let nodes = try RunStore.openReadOnly(path: summary.folder.appendingPathComponent(RunStore.fileName)).nodes()
        #expect(nodes.map { $0.execution?.timedOut } == [false, false, true])
        #expect(nodes.last?.execution?.duration == 20)
        #expect(fixture.interpreter.started == 3)
    }

    /// Four workers, two script slots: never more than two scripts at once, and two do run at once.
    @Test func scriptsRunAtMostExecParallelAtOnce() async throws {
        let fixture = try Fixture(steps: 6, script: FakeScript(duration: .seconds(10), output: "ok\n")) {
            $0.search.workers = 4
            $0.search.numDrafts = 6
            $0.exec.parallel = 2
        }
        defer { fixture.remove() }
        let work = Task { await fixture.run.run() }
        for round in 1...3 {
            await fixture.interpreter.waitForStarts(2 * round)
            await fixture.clock.waitForSleepers(3)  // two scripts and the heartbeat
            #expect(fixture.interpreter.running == 2)
            fixture.clock.advance(by: .seconds(10))
        }
        let summary = await work.value
        #expect(summary.status == .finished && summary.nodes == 6)
        #expect(fixture.interpreter.peakConcurrency == 2)
        #expect(summary.elapsed == 30)
    }

    /// Eight 10 s steps: one worker takes 80 s of the run's time, four take 20 s (in virtual time,
    /// so the ratio is exact whatever the machine's load).
    @Test func fourWorkersFinishFourTimesAsManyStepsInTheSameTime() async throws {
        for workers in [1, 4] {
            let fixture = try Fixture(steps: 8, script: FakeScript(duration: .seconds(10), output: "ok\n")) {
                $0.search.workers = workers
                $0.search.numDrafts = 8
                $0.exec.parallel = 4
            }
            defer { fixture.remove() }
            let work = Task { await fixture.run.run() }
            for round in 1...(8 / workers) {
                await fixture.interpreter.waitForStarts(workers * round)
                await fixture.clock.waitForSleepers(workers + 1)
                fixture.clock.advance(by: .seconds(10))
            }
            let summary = await work.value
            #expect(summary.status == .finished && summary.nodes == 8)
            #expect(summary.elapsed == Double(80 / workers))
            #expect(fixture.interpreter.peakConcurrency == workers)
        }
    }

    /// A stop request lets the three steps in flight finish and be committed; cancelling abandons them.
    @Test func aStopLetsTheStepsInFlightFinishAndCancellingAbandonsThem() async throws {
        let configure = { (spec: inout TaskSpec) in
            spec.search.workers = 3
            spec.search.numDrafts = 40
            spec.exec.parallel = 3
        }
        let stopped = try Fixture(steps: 40, script: FakeScript(duration: .seconds(10), output: "ok\n"), configure: configure)
        defer { stopped.remove() }
        let work = Task { await stopped.run.run() }
        await stopped.interpreter.waitForStarts(3)
        await stopped.clock.waitForSleepers(4)
        let atStop = await stopped.run.requestStop()
        #expect(atStop == (committed: 0, inFlight: 3))
        stopped.clock.advance(by: .seconds(10))
        let summary = await work.value
        #expect(summary.status == .interrupted && summary.nodes == 3)
        #expect(stopped.interpreter.started == 3)

        let cancelled = try Fixture(steps: 40, script: FakeScript(duration: .seconds(10), output: "ok\n"), configure: configure)
        defer { cancelled.remove() }
        let abandoned = Task { await cancelled.run.run() }
        await cancelled.interpreter.waitForStarts(3)
        await cancelled.clock.waitForSleepers(4)
        abandoned.cancel()
        let ended = await abandoned.value
        #expect(ended.status == .interrupted && ended.nodes == 0)
        let store = try RunStore.openReadOnly(path: cancelled.run.workspace.database)
        defer { try? store.close() }
        #expect(try store.run()?.status == .interrupted)
    }

    /// While one long script runs, the heartbeat keeps the run's row fresh; a report tells that run
    /// from one whose process stopped without a word.
    @Test func theHeartbeatIsWrittenWhileAScriptRunsAndReportsTellLiveFromSilent() async throws {
        let fixture = try Fixture(steps: 1, script: FakeScript(duration: .seconds(300), output: "ok\n")) {
            $0.budget.scriptTimeout = 600
        }
        defer { fixture.remove() }
        let work = Task { await fixture.run.run() }
        await fixture.interpreter.waitForStarts(1)
        await fixture.clock.waitForSleepers(2)
        let database = fixture.run.workspace.database
        func updatedAt() throws -> Date {
            let store = try RunStore.openReadOnly(path: database)
            defer { try? store.close() }
            return try #require(try store.run()).updatedAt
        }
        let before = try updatedAt()
        fixture.clock.advance(by: .seconds(RunHeartbeat.interval))
        await fixture.clock.waitForSleepers(2)  // the heartbeat wrote and sleeps again
        let after = try updatedAt()
        #expect(after > before)

        let store = try RunStore.openReadOnly(path: database)
        let live = try RunReport(snapshot: store.summarySnapshot(), path: database.path, now: after.addingTimeInterval(5))
        #expect(live.run.status == .running && live.run.silentFor == nil)
        let silent = try RunReport(snapshot: store.summarySnapshot(), path: database.path, now: after.addingTimeInterval(600))
        #expect(silent.run.silentFor == 600)
        #expect(try ReportRenderer.render(silent, format: .text).contains("stopped without a word"))
        try store.close()

        fixture.clock.advance(by: .seconds(300))
        let summary = await work.value
        #expect(summary.status == .finished && summary.nodes == 1)
    }
}
