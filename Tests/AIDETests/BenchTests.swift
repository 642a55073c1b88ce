@testable import AIDE
import AIDETesting
import Foundation
import Testing

/// `aide bench` driven as a user drives it: the real binary running real `aide run` processes with
/// scripted answers over synthetic tasks, checked against each run's own store.
struct BenchTests {
    private typealias A = ScriptedAnswers

    static let schema = TaskTestSupport.repository.appendingPathComponent("docs/junit.xsd")

    /// Two synthetic tasks: `alpha` (graded, with thresholds) and `beta`, whose grading expects a
    /// file no script writes, so none of its runs has a valid submission.
    private struct Fixture {
        let alpha: SyntheticTask
        let beta: SyntheticTask
        let runs: URL
        let answers: URL
        /// Holds scripts past the first few, when given (the runs then go without the sandbox).
        let gate: ScriptGate?

        init(steps: Int = 3, hold: (free: Int, perRun: Bool)? = nil, answerCount: Int = 12) throws {
            alpha = try SyntheticTask(name: "alpha", steps: steps)
            beta = try SyntheticTask(name: "beta", steps: steps)
            try Self.edit(alpha.taskFile, "  metric: rmse\n", "  metric: rmse\n  thresholds: {bronze: 0.3, gold: 0.05}\n")
            try Self.edit(beta.taskFile, "  metric: rmse\n", "  metric: rmse\n  submission: elsewhere.csv\n")
            runs = FileManager.default.temporaryDirectory.appendingPathComponent("aide-bench-\(UUID().uuidString)")
            let gate = try hold.map { _ in try ScriptGate() }
            self.gate = gate
            // Each run reads the file from its start: drafts predicting y = 2x + 1.5, then 1.2, then 1.1
            // (test RMSE 0.5, 0.2, 0.1), each reviewed with its own metric.
            var lines: [String] = []
            for step in 0..<answerCount {
                let intercept = [1.5, 1.2, 1.1][min(step, 2)]
                let metric = [0.5, 0.2, 0.1][min(step, 2)]
                let script = A.goodScript(slope: 2, intercept: intercept, metric: metric)
                if let gate, let hold {
                    lines.append(A.code(gate.wrap(script, free: hold.free, perRun: hold.perRun)))
                } else {
                    lines.append(A.code(script))
                }
                lines.append(A.review(isBug: false, metric: metric))
            }
            answers = try A.file(lines)
        }

        static func edit(_ file: URL, _ old: String, _ new: String) throws {
            let text = try String(contentsOf: file, encoding: .utf8)
            #expect(text.contains(old))
            try Data(text.replacingOccurrences(of: old, with: new).utf8).write(to: file)
        }

        func remove() {
            try? gate?.open()  // a held script left behind goes on and ends
            gate?.remove()
            alpha.remove()
            beta.remove()
            try? FileManager.default.removeItem(at: runs)
            try? FileManager.default.removeItem(at: answers)
        }

        func benchArguments(_ tasks: [SyntheticTask], seeds: String, name: String, extra: [String] = []) -> [String] {
            ["bench"] + tasks.map(\.taskFile.path) + [
                "--seeds", seeds, "--name", name, "--runs-dir", runs.path, "--scripted", answers.path,
            ] + (gate == nil ? [] : ["--set", "exec.sandbox=none"]) + extra
        }

        func folder(_ name: String) -> URL { runs.appendingPathComponent("bench-\(name)") }
    }

    private static var environment: [String: String] {
        ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
    }

    private func aide(_ arguments: [String], timeout: Double = 600) async throws -> CommandOutput {
        try await CommandRunner.run(arguments, environment: Self.environment, timeout: timeout)
    }

    private func launch(_ arguments: [String], log: URL) throws -> Process {
        try CommandRunner.launch(arguments, environment: Self.environment, log: log)
    }

    private func waitForExit(_ process: Process, timeout: Double = 600) async throws -> Int32 {
        guard let status = try await CommandRunner.waitForExit(process, timeout: timeout) else {
            Issue.record("aide did not finish within \(timeout) s")
            return -1
        }
        return status
    }

    /// Polls the bench's index until `condition` holds.
    private func waitForCases(in folder: URL, _ condition: ([BenchCaseRecord]) -> Bool) async throws -> [BenchCaseRecord] {
        try await Poll.value("the bench in \(folder.path) in the expected state") {
            guard let index = try? BenchIndex.open(folder, readOnly: true) else { return nil }
            defer { try? index.close() }
            let cases = (try? index.cases()) ?? []
            return condition(cases) ? cases : nil
        }
    }

    /// Whether `pid` runs (a zombie nobody reaped counts as gone).
    private static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        return !status.contains("State:\tZ")
    }

    private func summaryJSON(_ folder: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent("summary.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private func validate(_ junit: URL) throws -> (status: Int32, output: String) {
        try TaskTestSupport.run("/usr/bin/xmllint", ["--noout", "--schema", Self.schema.path, junit.path])
    }

    /// The best node's test score and metric as the run's own store has them.
    private func stored(_ runFolder: URL) throws -> (testScore: Double?, metric: Double?, nodes: Int) {
        let store = try RunStore.openReadOnly(path: runFolder.appendingPathComponent(RunStore.fileName))
        defer { try? store.close() }
        let nodes = try store.nodes()
        let best = try store.run()?.bestNodeID.flatMap { id in nodes.first { $0.id == id } }
        return (best?.testScore, best?.metric, nodes.count)
    }

    @Test func twoTasksTimesTwoSeedsRunAsSeparateRunsAndAreSummarized() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let result = try await aide(fixture.benchArguments([fixture.alpha, fixture.beta], seeds: "2", name: "pair", extra: ["--jobs", "2"]))
        #expect(result.status == 0, "\(result.stderr.suffix(3000))")
        let folder = fixture.folder("pair")

        // The index: one finished case per task × seed, each with its own run.
        let index = try BenchIndex.open(folder, readOnly: true)
        defer { try? index.close() }
        let cases = try index.cases()
        #expect(cases.map(\.task) == ["alpha", "alpha", "beta", "beta"])
        #expect(cases.map(\.seed) == [1, 2, 1, 2])
        #expect(cases.allSatisfy { $0.status == .finished && $0.exitStatus == 0 && $0.attempts == 1 })
        #expect(try index.bench().status == .finished)
        let runFolders = try cases.map { try #require($0.runFolder).description }.map { folder.appendingPathComponent($0) }
        #expect(Set(runFolders).count == 4)
        for (row, runFolder) in zip(cases, runFolders) {
            #expect(runFolder.path.contains("cases/\(row.task)-seed\(row.seed)/"))
            let store = try RunStore.openReadOnly(path: runFolder.appendingPathComponent(RunStore.fileName))
            #expect(try store.run()?.seed == row.seed)
            #expect(try store.run()?.status == .finished)
            try store.close()
        }

        // summary.json against the runs' stores.
        let json = try summaryJSON(folder)
        #expect(json["schema"] as? String == "aide.bench/1")
        let tasks = try #require(json["tasks"] as? [[String: Any]])
        #expect(tasks.map { $0["task"] as? String } == ["alpha", "beta"])
        let alphaScores = try runFolders.prefix(2).map { try #require(try stored($0).testScore) }
        let alphaMetrics = try runFolders.prefix(2).map { try #require(try stored($0).metric) }
        #expect(alphaScores.allSatisfy { abs($0 - 0.1) < 1e-9 })
        let alpha = tasks[0]
        let testScore = try #require(alpha["test_score"] as? [String: Any])
        #expect(testScore["n"] as? Int == 2)
        #expect(abs((testScore["mean"] as? Double ?? .nan) - alphaScores.reduce(0, +) / 2) < 1e-12)
        let metric = try #require(alpha["metric"] as? [String: Any])
        #expect(abs((metric["mean"] as? Double ?? .nan) - alphaMetrics.reduce(0, +) / 2) < 1e-12)
        #expect(alpha["valid_submission_rate"] as? Double == 1)
        #expect((alpha["steps_to_best"] as? [String: Any])?["mean"] as? Double == 3)
        let thresholds = try #require(alpha["thresholds"] as? [[String: Any]])
        #expect(thresholds.map { $0["name"] as? String } == ["bronze", "gold"])
        #expect(thresholds.map { $0["rate"] as? Double } == [1, 0])
        let beta = tasks[1]
        #expect(beta["valid_submissions"] as? Int == 0)
        #expect(beta["valid_submission_rate"] as? Double == 0)
        #expect((beta["test_score"] as? [String: Any])?["mean"] is NSNull)
        let totals = try #require(json["totals"] as? [String: Any])
        #expect(totals["finished"] as? Int == 4)
        #expect(totals["valid_submissions"] as? Int == 2)

        // JUnit: schema-valid; beta's runs, without a valid submission, are failures.
        let junit = folder.appendingPathComponent("junit.xml")
        let validation = try validate(junit)
        #expect(validation.status == 0, "\(validation.output)")
        let xml = try String(contentsOf: junit, encoding: .utf8)
        #expect(xml.contains("<testsuites name=\"aide bench pair\" tests=\"4\" failures=\"2\" errors=\"0\" skipped=\"0\""))
        #expect(xml.contains("<testsuite name=\"alpha\" tests=\"2\" failures=\"0\""))
        #expect(xml.contains("<testsuite name=\"beta\" tests=\"2\" failures=\"2\""))
        #expect(xml.contains("<testcase classname=\"beta\" name=\"seed 2\""))
        #expect(xml.contains("<failure message=\"no valid submission: all 3 nodes buggy\" type=\"NoValidSubmission\">"))

        // The markdown table, also what the command printed.
        let markdown = try String(contentsOf: folder.appendingPathComponent("summary.md"), encoding: .utf8)
        #expect(markdown.contains("| alpha | 2/2 | 100% | 0.1 ± 0 rmse ↓ | 0.1 ± 0 ↓ | 3 |"))
        #expect(markdown.contains("| beta | 2/2 | 0% | – rmse ↓ |"))
        #expect(markdown.contains("bronze 100%, gold 0%"))
        #expect(result.stdout == markdown)
    }

    @Test func baselinePassesWithinToleranceAndFailsNamingTheTaskAndBothNumbers() async throws {
        let fixture = try Fixture(steps: 2)
        defer { fixture.remove() }
        let arguments = fixture.benchArguments([fixture.alpha], seeds: "1", name: "base")
        let first = try await aide(arguments)
        #expect(first.status == 0, "\(first.stderr.suffix(2000))")
        let folder = fixture.folder("base")
        // Two steps: the best test RMSE is 0.2. A baseline of 0.15 is better than that.
        var baseline = try summaryJSON(folder)
        var tasks = try #require(baseline["tasks"] as? [[String: Any]])
        var testScore = try #require(tasks[0]["test_score"] as? [String: Any])
        #expect(abs((testScore["mean"] as? Double ?? 0) - 0.2) < 1e-9)
        testScore["mean"] = 0.15
        tasks[0]["test_score"] = testScore
        baseline["tasks"] = tasks
        let baselineFile = fixture.runs.appendingPathComponent("baseline.json")
        try JSONSerialization.data(withJSONObject: baseline).write(to: baselineFile)

        // Regression beyond an absolute tolerance: exit 3 and the message.
        let failing = try await aide(["bench", "collect", folder.path, "--baseline", baselineFile.path, "--tolerance", "0.01"])
        #expect(failing.status == 3, "\(failing.stderr)")
        #expect(failing.stderr.contains("regression: alpha: test score 0.2 vs baseline 0.15 (rmse, lower is better; tolerance 0.01)"), "\(failing.stderr)")
        #expect(failing.stdout.contains("**1 regression**"))

        // Within tolerance, absolute or relative: exit 0. Re-running the bench command itself runs
        // nothing again (its one case is finished) and compares too.
        let passing = try await aide(["bench", "collect", folder.path, "--baseline", baselineFile.path, "--tolerance", "0.05"])
        #expect(passing.status == 0, "\(passing.stderr)")
        #expect(passing.stdout.contains("no regression (tolerance 0.05)"))
        let again = try await aide(arguments + ["--baseline", baselineFile.path, "--tolerance", "50%"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("(1 already finished)"))
        #expect(!again.stderr.contains("[bench] start"))
        let json = try summaryJSON(folder)
        let comparison = try #require(json["baseline"] as? [String: Any])
        let rows = try #require(comparison["tasks"] as? [[String: Any]])
        #expect(rows.first?["regressed"] as? Bool == false)
        #expect(rows.first?["baseline"] as? Double == 0.15)

        // A file that is not a bench summary is a one-line error.
        let notSummary = try await aide(["bench", "collect", folder.path, "--baseline", fixture.answers.path])
        #expect(notSummary.status == 1)
        #expect(notSummary.stderr.hasPrefix("Error: \(fixture.answers.path) is not a bench summary.json"))
    }

    @Test func aKilledBenchResumesSkippingFinishedCases() async throws {
        // One case at a time: the first three scripts (case 0) and the next (case 1's first step) go
        // on, case 1's second script waits at the gate.
        let fixture = try Fixture(steps: 3, hold: (free: 4, perRun: false))
        defer { fixture.remove() }
        let gate = try #require(fixture.gate)
        let arguments = fixture.benchArguments([fixture.alpha], seeds: "3", name: "killed")
        let folder = fixture.folder("killed")
        let log = fixture.runs.appendingPathExtension("log")
        try FileManager.default.createDirectory(at: fixture.runs, withIntermediateDirectories: true)
        let bench = try launch(arguments, log: log)
        // Case 0 finished, case 1 under way with a run recorded in its store (not just being created).
        let cases = try await waitForCases(in: folder) { cases in
            cases.count == 3 && cases[0].status == .finished && cases[1].status == .running && cases[1].pid != nil
                && BenchFolder(root: folder).existingRun(BenchCase(index: 1, task: "alpha", taskFile: "", seed: 2))
                    .map { BenchRunner.state(ofRun: $0) == .resumable } == true
                && !gate.held.isEmpty
        }
        kill(bench.processIdentifier, SIGKILL)
        _ = try await waitForExit(bench)
        let child = Int32(try #require(cases[1].pid))
        kill(child, SIGKILL)
        // The script in flight outlives a killed aide; it goes too, then the gate opens for the resume.
        for pid in gate.held { kill(pid, SIGKILL) }
        try await Poll.until("the held script is gone") { gate.held.allSatisfy { !Self.isAlive($0) } }
        try gate.open()
        let runFolder = try #require(BenchFolder(root: folder).existingRun(BenchCase(index: 1, task: "alpha", taskFile: "", seed: 2)))
        // The killed run's lock is free once its process is gone.
        try await Poll.until("the killed run's lock is free") { (try? RunLock(folder: runFolder)) != nil }

        let resumed = try await aide(arguments)
        #expect(resumed.status == 0, "\(resumed.stderr.suffix(3000))")
        #expect(resumed.stderr.contains("(1 already finished)"))
        #expect(resumed.stderr.contains("start  alpha seed 2 (resuming)"))
        #expect(!resumed.stderr.contains("start  alpha seed 1"))
        let index = try BenchIndex.open(folder, readOnly: true)
        defer { try? index.close() }
        let final = try index.cases()
        #expect(final.map(\.status) == [.finished, .finished, .finished])
        #expect(final.map(\.attempts) == [1, 2, 1])
        // Case 1 went on in the same run, which has every step.
        #expect(final[1].runID == runFolder.lastPathComponent)
        #expect(try stored(runFolder).nodes == 3)
        let logText = try String(contentsOf: folder.appendingPathComponent("cases/alpha-seed2/output.log"), encoding: .utf8)
        #expect(logText.contains("resuming \(runFolder.lastPathComponent) in "), "\(logText)")
    }

    @Test func ctrlCInterruptsEveryRunningCaseAndResumeFinishesThem() async throws {
        // Each run's first script goes on, its second waits at the gate.
        let fixture = try Fixture(steps: 6, hold: (free: 1, perRun: true))
        defer { fixture.remove() }
        let gate = try #require(fixture.gate)
        let arguments = fixture.benchArguments([fixture.alpha], seeds: "2", name: "ctrlc", extra: ["--jobs", "2"])
        let folder = fixture.folder("ctrlc")
        let log = fixture.runs.appendingPathExtension("log")
        try FileManager.default.createDirectory(at: fixture.runs, withIntermediateDirectories: true)
        let bench = try launch(arguments, log: log)
        // Both runs under way, each with a committed node.
        let benchFolder = BenchFolder(root: folder)
        _ = try await waitForCases(in: folder) { cases in
            cases.count == 2 && cases.allSatisfy { $0.status == .running }
                && (1...2).allSatisfy { seed in
                    benchFolder.existingRun(BenchCase(index: 0, task: "alpha", taskFile: "", seed: UInt64(seed)))
                        .map { ((try? stored($0).nodes) ?? 0) >= 1 } ?? false
                }
                && gate.held.count == 2
        }
        // SIGINT to the bench alone (as `kill -INT` would): it passes one to each run. Once the bench
        // says so, the held scripts may end (a first Ctrl-C lets the scripts in flight finish); each
        // run would need four more whole steps to finish before its SIGINT arrives.
        kill(bench.processIdentifier, SIGINT)
        try await Poll.until("the bench interrupted") {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("[bench] interrupted")
        }
        try gate.open()
        let status = try await waitForExit(bench)
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(status == 130, "\(output.suffix(2000))")
        #expect(output.contains("resume with: aide bench --resume \(folder.path)"))
        let index = try BenchIndex.open(folder, readOnly: true)
        defer { try? index.close() }
        #expect(try index.bench().status == .interrupted)
        let cases = try index.cases()
        #expect(cases.map(\.status) == [.interrupted, .interrupted])
        for row in cases {
            let runFolder = folder.appendingPathComponent(try #require(row.runFolder))
            let store = try RunStore.openReadOnly(path: runFolder.appendingPathComponent(RunStore.fileName))
            #expect(try store.run()?.status == .interrupted)
            try store.close()
        }
        // JUnit shows runs not done as skipped, and stays valid.
        #expect(try validate(folder.appendingPathComponent("junit.xml")).status == 0)
        #expect(try String(contentsOf: folder.appendingPathComponent("junit.xml"), encoding: .utf8).contains("skipped=\"2\""))

        let resumed = try await aide(["bench", "--resume", folder.path, "--jobs", "2"])
        #expect(resumed.status == 0, "\(resumed.stderr.suffix(3000))")
        let final = try index.cases()
        #expect(final.map(\.status) == [.finished, .finished])
        for row in final { #expect(try stored(folder.appendingPathComponent(try #require(row.runFolder))).nodes == 6) }
    }

    @Test func slurmJobArrayIsWrittenAndItsElementsRunByHandThenCollected() async throws {
        let fixture = try Fixture(steps: 2)
        defer { fixture.remove() }
        let planned = try await aide(
            fixture.benchArguments([fixture.alpha, fixture.beta], seeds: "2", name: "array", extra: [
                "--slurm", "--partition", "debug", "--time", "0:10:00", "--cpus-per-task", "2", "--mem", "1G", "--jobs", "3",
            ]))
        #expect(planned.status == 0, "\(planned.stderr)")
        let folder = fixture.folder("array").standardized
        let script = try String(contentsOf: folder.appendingPathComponent("job.sbatch"), encoding: .utf8)
        #expect(planned.stdout.contains("submit:  sbatch \(folder.path)/job.sbatch"))
        let lines = script.split(separator: "\n").map(String.init)
        #expect(lines.first == "#!/bin/bash")
        for expected in [
            "#SBATCH --job-name=aide-bench-array", "#SBATCH --array=0-3%3", "#SBATCH --output=\(folder.path)/slurm/%a.out",
            "#SBATCH --partition=debug", "#SBATCH --time=0:10:00", "#SBATCH --cpus-per-task=2", "#SBATCH --mem=1G",
        ] {
            #expect(lines.contains(expected), "\(expected) missing from:\n\(script)")
        }
        let executable = CommandRunner.aideExecutable.resolvingSymlinksInPath().path
        #expect(lines.last == "exec \(executable) bench run-case \(folder.path) --index \"$SLURM_ARRAY_TASK_ID\"")
        // sbatch reads #SBATCH lines only before the first command.
        let firstCommand = try #require(lines.firstIndex { !$0.hasPrefix("#") })
        #expect(!lines[firstCommand...].contains { $0.hasPrefix("#SBATCH") })
        let index = try BenchIndex.open(folder, readOnly: true)
        defer { try? index.close() }
        #expect(try index.bench().status == .planned)
        #expect(try index.cases().allSatisfy { $0.status == .pending })

        // Before any element ran, collect reports every run as not done.
        let early = try await aide(["bench", "collect", folder.path])
        #expect(early.status == 0, "\(early.stderr)")
        #expect(early.stderr.contains("4 of 4 runs not done yet"))

        // The array's elements, by hand, as Slurm would run them (the script's last line).
        for element in [3, 0, 2, 1] {
            let result = try await CommandRunner.run(
                ["-c", lines.last!], executable: URL(fileURLWithPath: "/bin/bash"),
                environment: Self.environment.merging(["SLURM_ARRAY_TASK_ID": "\(element)"]) { $1 }, timeout: 120)
            #expect(result.status == 0, "element \(element): \(result.stderr.suffix(2000))")
        }
        let outOfRange = try await aide(["bench", "run-case", folder.path, "--index", "4"])
        #expect(outOfRange.status == 1)
        #expect(outOfRange.stderr == "Error: bench array has cases 0...3, not 4\n")

        let out = fixture.runs.appendingPathComponent("results")
        let collected = try await aide(["bench", "collect", folder.path, "--out", out.path])
        #expect(collected.status == 0, "\(collected.stderr)")
        #expect(try index.cases().allSatisfy { $0.status == .finished && $0.host != nil })
        let json = try summaryJSON(out)
        let totals = try #require(json["totals"] as? [String: Any])
        #expect(totals["finished"] as? Int == 4)
        #expect(totals["valid_submissions"] as? Int == 2)
        #expect(try validate(out.appendingPathComponent("junit.xml")).status == 0)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("summary.md").path))
    }

    @Test func aBenchReplayingRecordedRunsBuildsTheirTrees() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        // Seed 2 recorded from other answers (y = 2x + 1.3, RMSE 0.3): the runs ask the same first
        // questions, so only answering from the run's own session gives each case its recorded tree.
        let other = try A.file((0..<6).flatMap { _ in
            [A.code(A.goodScript(slope: 2, intercept: 1.3, metric: 0.3)), A.review(isBug: false, metric: 0.3)]
        })
        defer { try? FileManager.default.removeItem(at: other) }
        try FileManager.default.createDirectory(at: fixture.runs, withIntermediateDirectories: true)
        let cassette = fixture.runs.appendingPathComponent("alpha.jsonl").path
        var recorded: [URL] = []
        for (seed, answers) in [(1, fixture.answers), (2, other)] {
            let runsDir = fixture.runs.appendingPathComponent("recorded-\(seed)")
            let run = try await aide([
                "run", fixture.alpha.taskFile.path, "--scripted", answers.path, "--record", cassette,
                "--set", "search.seed=\(seed)", "--runs-dir", runsDir.path,
            ])
            #expect(run.status == 0, "\(run.stderr)")
            let folders = try FileManager.default.contentsOfDirectory(atPath: runsDir.path)
            recorded.append(runsDir.appendingPathComponent(try #require(folders.first)))
        }
        let recordedTrees = try recorded.map { try ReplayTests.fingerprint($0) }
        #expect(recordedTrees[0] != recordedTrees[1])
        let recordedScores = try recorded.map { try #require(try stored($0).testScore) }
        #expect(abs(recordedScores[0] - 0.1) < 1e-9 && abs(recordedScores[1] - 0.3) < 1e-9, "\(recordedScores)")

        let bench = try await aide([
            "bench", fixture.alpha.taskFile.path, "--seeds", "2", "--jobs", "2", "--replay", cassette,
            "--name", "replayed", "--runs-dir", fixture.runs.path,
        ])
        #expect(bench.status == 0, "\(bench.stderr.suffix(3000))")
        let folder = fixture.folder("replayed")
        let index = try BenchIndex.open(folder, readOnly: true)
        defer { try? index.close() }
        let cases = try index.cases()
        #expect(cases.map(\.seed) == [1, 2])
        for (row, tree) in zip(cases, recordedTrees) {
            let runFolder = folder.appendingPathComponent(try #require(row.runFolder).description)
            #expect(try ReplayTests.fingerprint(runFolder) == tree, "seed \(row.seed)")
            #expect(try stored(runFolder).testScore == recordedScores[Int(row.seed) - 1])
        }

        // A changed task misses: the case fails, and the bench says why.
        let miss = try await aide([
            "bench", fixture.alpha.taskFile.path, "--seeds", "1", "--replay", cassette, "--set", "goal=Predict y.",
            "--name", "missed", "--runs-dir", fixture.runs.path,
        ])
        #expect(miss.status == 1)
        let missed = try #require(try summaryJSON(fixture.folder("missed"))["cases"] as? [[String: Any]])
        #expect(missed.first?["status"] as? String == "failed")
        let message = try #require(missed.first?["message"] as? String)
        #expect(message.contains(": failed (step 0 failed: replay: no recorded answer for this text call"), "\(message)")
    }

    @Test func badInputIsAOneLineError() async throws {
        let fixture = try Fixture(steps: 2)
        defer { fixture.remove() }
        let missing = try await aide(["bench", "/nonexistent/task.yaml", "--runs-dir", fixture.runs.path])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("Error: /nonexistent/task.yaml: cannot read the task file"), "\(missing.stderr)")
        let seed = try await aide(fixture.benchArguments([fixture.alpha], seeds: "2", name: "s", extra: ["--set", "search.seed=4"]))
        #expect(seed.stderr == "Error: --set search.seed=4: the bench sets search.seed for each case; use --seeds\n")
        let seeds = try await aide(fixture.benchArguments([fixture.alpha], seeds: "0", name: "s"))
        #expect(seeds.stderr.hasPrefix("Error: the seeds are a count of at least 1"), "\(seeds.stderr)")
        let twice = try await aide(fixture.benchArguments([fixture.alpha, fixture.alpha], seeds: "1", name: "s"))
        #expect(twice.stderr.contains("are both named alpha"))
        // The same name with another plan is refused rather than mixed in.
        #expect(try await aide(fixture.benchArguments([fixture.alpha], seeds: "1", name: "same")).status == 0)
        let other = try await aide(fixture.benchArguments([fixture.alpha], seeds: "2", name: "same"))
        #expect(other.status == 1)
        #expect(other.stderr.contains("holds a bench with other tasks, seeds or options"))
        let unknown = try await aide(["bench", "collect", fixture.runs.appendingPathComponent("nothing").path])
        #expect(unknown.stderr.hasPrefix("Error: no bench "))
    }
}

/// The bench's arithmetic and formats, without processes.
struct BenchUnitTests {
    @Test func meanAndStandardError() {
        let statistic = BenchStatistic([1, 2, 3, 4])
        #expect(statistic.n == 4)
        #expect(statistic.mean == 2.5)
        // Sample standard deviation √(5/3), over √4.
        #expect(abs((statistic.stderr ?? 0) - (5.0 / 3).squareRoot() / 2) < 1e-12)
        #expect(statistic.min == 1 && statistic.max == 4)
        #expect(BenchStatistic([0.7]).stderr == nil)
        #expect(BenchStatistic([]).mean == nil)
        #expect(BenchStatistic([1, .nan, 3]).n == 2)
    }

    @Test func seedsAreACountOrAList() throws {
        #expect(try BenchPlan.seeds("3") == [1, 2, 3])
        #expect(try BenchPlan.seeds("4,7") == [4, 7])
        #expect(throws: BenchError.seeds(text: "0", isCount: true)) { try BenchPlan.seeds("0") }
        #expect(throws: BenchError.repeatedSeed(4)) { try BenchPlan.seeds("4,4") }
        #expect(throws: BenchError.seeds(text: "a,b", isCount: false)) { try BenchPlan.seeds("a,b") }
        #expect(BenchError.repeatedSeed(4).description == "the seeds list seed 4 twice")
    }

    @Test func toleranceIsAbsoluteOrRelative() throws {
        let absolute = try BaselineTolerance(parsing: "0.005")
        #expect(absolute.allowance(from: 10) == 0.005)
        #expect(absolute.description == "0.005")
        let relative = try BaselineTolerance(parsing: "2%")
        #expect(abs(relative.allowance(from: -0.5) - 0.01) < 1e-12)
        #expect(relative.description == "2%")
        #expect(throws: BenchError.tolerance("-1")) { try BaselineTolerance(parsing: "-1") }
        #expect(throws: BenchError.tolerance("lots")) { try BaselineTolerance(parsing: "lots") }
    }

    @Test func aRunStoppedWhileBeingCreatedIsStartedAfreshNotResumed() throws {
        let folder = TaskTestSupport.temporaryDirectory("bench-run")
        defer { try? FileManager.default.removeItem(at: folder) }
        // `aide run` killed between creating run.sqlite and recording its run: an empty file.
        _ = FileManager.default.createFile(atPath: folder.appendingPathComponent(RunStore.fileName).path, contents: Data())
        #expect(BenchRunner.state(ofRun: folder) == .empty)
        let store = try RunStore(path: folder.appendingPathComponent(RunStore.fileName))
        #expect(BenchRunner.state(ofRun: folder) == .empty)
        let spec = TaskSpec(name: "t", goal: "g", data: "data", metric: MetricSpec(direction: .minimize))
        try store.createRun(try RunRecord(id: "t-1", taskFile: "task.yaml", spec: spec))
        #expect(BenchRunner.state(ofRun: folder) == .resumable)
        try store.updateRun(status: .finished, stopReason: nil, bestNodeID: nil, finishedAt: Date())
        #expect(BenchRunner.state(ofRun: folder) == .finished)
        try store.close()
    }

    @Test func aFailedCaseIsExplainedByTheRunsOwnFailureLine() throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("case-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        try Data("""
            run wine-1 in /tmp/runs/wine-1
               0 draft     metric 1  test 1  2.0 s
            run wine-1: failed (step 1 failed: replay: no recorded answer for this text call)
              nodes: 1 (1 good, 0 buggy)
              continue with: aide run --resume /tmp/runs/wine-1

            """.utf8).write(to: log)
        #expect(BenchRunner.lastLine(of: log) == "run wine-1: failed (step 1 failed: replay: no recorded answer for this text call)")
        try Data("starting\nError: the task file does not exist\nbye\n".utf8).write(to: log)
        #expect(BenchRunner.lastLine(of: log) == "Error: the task file does not exist")
        try Data("one\ntwo\n".utf8).write(to: log)
        #expect(BenchRunner.lastLine(of: log) == "two")
    }

    @Test func xmlTextIsEscapedAndCleaned() {
        #expect(MarkupText.escape("a<b & \"c\" 'd'>\u{1}\n") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;\n")
    }

    @Test func numbersKeepFourSignificantDigits() {
        #expect(BenchFormat.number(0.152) == "0.152")
        #expect(BenchFormat.number(0.14) == "0.14")
        #expect(BenchFormat.number(12.3456) == "12.35")
        #expect(BenchFormat.number(3) == "3")
        #expect(BenchFormat.number(0.000012345) == "1.234e-05" || BenchFormat.number(0.000012345) == "1.235e-05")
    }
}
