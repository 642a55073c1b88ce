@testable import AIDE
import AIDETesting
import Foundation
import Testing

/// integrations/mlebench/start.sh, the MLE-bench agent entry, run as mle-bench runs it (`bash start.sh
/// key=value …`) on a directory tree laid out as the competition's container: /home/data (read by
/// the agent), /home/submission, /home/logs and /home/code (collected by mle-bench), /home/agent.
struct MLEBenchAgentTests {
    static let startScript = TaskTestSupport.repository.appendingPathComponent("integrations/mlebench/start.sh")

    /// The container's /home, with a competition's public data (train/test/sample submission and a
    /// description.md whose Evaluation names the metric).
    static func container(_ root: URL) throws -> URL {
        let home = root.appendingPathComponent("home")
        let data = try OnrampCommandTests.dataFolder(home)
        try TaskTestSupport.write(
            "# Toy Regression\n\nPredict y for each id in test.csv.\n\n## Evaluation\n\n"
                + "Submissions are scored on the root mean squared error between predicted and observed y.\n",
            to: data.appendingPathComponent("description.md"))
        return home
    }

    /// The environment mle-bench's image and config.yaml give start.sh, with the paths under `home`.
    static func environment(_ home: URL, steps: Int, timeLimit: Int) -> [String: String] {
        [
            "PATH": "/usr/bin:/bin",
            "HOME": home.path,
            "DATA_DIR": home.appendingPathComponent("data").path,
            "SUBMISSION_DIR": home.appendingPathComponent("submission").path,
            "LOGS_DIR": home.appendingPathComponent("logs").path,
            "CODE_DIR": home.appendingPathComponent("code").path,
            "AGENT_DIR": home.appendingPathComponent("agent").path,
            "STEP_LIMIT": "\(steps)",
            "TIME_LIMIT_SECS": "\(timeLimit)",
            "COMPETITION_ID": "toy-regression",
            "AIDE": CommandRunner.aideExecutable.path,
            "AIDE_PYTHON": TestPython.path,
        ]
    }

    /// A draft that forgets its submission, then one predicting the training mean of y.
    static func answers() throws -> URL {
        let mean = """
            import csv
            ys = [float(row["y"]) for row in csv.DictReader(open("./input/train.csv"))]
            mean = sum(ys) / len(ys)
            print("Validation metric: 4.5")
            with open("./working/submission.csv", "w") as out:
                out.write("id,y\\n")
                for row in csv.DictReader(open("./input/test.csv")):
                    out.write(f"{row['id']},{mean}\\n")
            """
        return try ScriptedAnswers.file([
            ScriptedAnswers.code("print('Validation metric: 9.0')", plan: "Forget the submission."),
            ScriptedAnswers.review(isBug: false, metric: 9.0),
            ScriptedAnswers.code(mean, plan: "Predict the mean."),
            ScriptedAnswers.review(isBug: false, metric: 4.5),
        ])
    }

    /// One agent's entry in config.yaml as mle-bench's registry reads it: its fields, and its kwargs
    /// as the `key=value` arguments start.sh is given (kwargs_type omegaconf). A reader for this
    /// file's plain two-level layout (no anchors), so the test needs no YAML library.
    static func agentEntry(_ id: String) throws -> (fields: [String: String], kwargs: [String]) {
        let text = try String(contentsOf: startScript.deletingLastPathComponent().appendingPathComponent("config.yaml"), encoding: .utf8)
        var fields: [String: String] = [:], kwargs: [String] = []
        var inEntry = false, section = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0])
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let indent = line.prefix { $0 == " " }.count
            let body = line.trimmingCharacters(in: .whitespaces)
            let parts = body.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if indent == 0 {
                inEntry = parts[0] == id
            } else if inEntry, indent == 2 {
                section = parts[0]
                if parts.count == 2, !parts[1].isEmpty { fields[parts[0]] = parts[1] }
            } else if inEntry, indent == 4, section == "kwargs" {
                kwargs.append("\(parts[0])=\(parts[1])")
            }
        }
        return (fields, kwargs)
    }

    static func rows(_ csv: URL) throws -> [[String]] {
        try String(contentsOf: csv, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
    }

    @Test func startScriptSearchesAndLeavesWhatMLEBenchCollects() async throws {
        let root = TaskTestSupport.temporaryDirectory("mlebench-agent")
        defer { try? FileManager.default.removeItem(at: root) }
        let home = try Self.container(root)
        let cassette = root.appendingPathComponent("calls.jsonl")
        let answers = try Self.answers()
        // config.yaml's aide-swift entry's kwargs, as mle-bench passes them, and one more setting.
        let kwargs = try Self.agentEntry("aide-swift").kwargs + ["search.num_drafts=2"]
        #expect(kwargs.contains("agent.code_model=claude-sonnet-4-5"))
        let result = try await CommandRunner.run(
            [Self.startScript.path] + kwargs + ["--scripted", answers.path, "--record", cassette.path],
            executable: URL(fileURLWithPath: "/bin/bash"), environment: Self.environment(home, steps: 2, timeLimit: 600))
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        // The limits became the run's budget: the steps as they are, the time less a margin to stop cleanly.
        #expect(result.stderr.contains("limits --steps 2 --time-limit 540s"), "\(result.stderr)")

        // The submission, where mle-bench grades it: the second node's, a prediction for every test id.
        let submission = home.appendingPathComponent("submission/submission.csv")
        let rows = try Self.rows(submission)
        let testIDs = try Self.rows(home.appendingPathComponent("data/test.csv")).dropFirst().map { $0[0] }
        #expect(rows.first == ["id", "y"])
        #expect(rows.dropFirst().map { $0[0] } == testIDs)
        let ys = try Self.rows(home.appendingPathComponent("data/train.csv")).dropFirst().map { Double($0[2])! }
        let mean = ys.reduce(0, +) / Double(ys.count)
        #expect(rows.dropFirst().allSatisfy { abs(Double($0[1])! - mean) < 1e-9 })

        // The logs: the run's database and reports, the task it ran, what aide printed.
        let logs = home.appendingPathComponent("logs")
        let store = try RunStore.openReadOnly(path: logs.appendingPathComponent("run.sqlite"))
        let nodes = try store.nodes()
        #expect(nodes.count == 2)
        let run = try #require(try store.run())
        #expect(run.taskName == "toy-regression")
        #expect(run.stopReason?.hasPrefix("steps budget") == true)
        let spec = try JSONDecoder().decode(TaskSpec.self, from: Data(run.configJSON.utf8))
        #expect(spec.budget.steps == 2)
        #expect(spec.budget.timeLimit == 540)
        #expect(spec.search.numDrafts == 2)
        #expect(spec.search.maxDebugDepth == 20)
        #expect(spec.budget.scriptTimeout == 9 * 3600)
        #expect(spec.agent.codeModel == "claude-sonnet-4-5")
        #expect(spec.metric.direction == .minimize, "from description.md's Evaluation")
        #expect(spec.exec.python == TestPython.path)
        let task = try TaskLoader.load(logs.appendingPathComponent("task.yaml"))
        #expect(task.dataDirectory.path == home.appendingPathComponent("data").standardizedFileURL.path)
        let html = try String(contentsOf: logs.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("<html") && html.contains("toy-regression"))
        let markdown = try String(contentsOf: logs.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(markdown.contains("toy-regression"))
        let journal = try JSONSerialization.jsonObject(with: Data(contentsOf: logs.appendingPathComponent("journal.json")))
        #expect((journal as? [String: Any])?["nodes"] != nil)
        let aideLog = try String(contentsOf: logs.appendingPathComponent("aide.log"), encoding: .utf8)
        #expect(aideLog.contains("finished (steps budget (2) reached)"))

        // The code: the script that wrote the submission.
        let code = try String(contentsOf: home.appendingPathComponent("code/best_solution.py"), encoding: .utf8)
        let best = try #require(nodes.first { $0.id == run.bestNodeID })
        #expect(code == best.code)
        #expect(code.contains("sum(ys) / len(ys)"))

        // The same search replayed from its cassette, in a fresh container, leaves the same submission.
        let again = try Self.container(root.appendingPathComponent("again"))
        let replayed = try await CommandRunner.run(
            [Self.startScript.path] + kwargs + ["--replay", cassette.path],
            executable: URL(fileURLWithPath: "/bin/bash"), environment: Self.environment(again, steps: 2, timeLimit: 600))
        #expect(replayed.status == 0, "\(replayed.stdout)\n\(replayed.stderr)")
        #expect(try Data(contentsOf: again.appendingPathComponent("submission/submission.csv")) == Data(contentsOf: submission))
    }

    @Test func noValidSubmissionLeavesNoneAndFails() async throws {
        let root = TaskTestSupport.temporaryDirectory("mlebench-agent-none")
        defer { try? FileManager.default.removeItem(at: root) }
        let home = try Self.container(root)
        let answers = try ScriptedAnswers.file([
            ScriptedAnswers.code("print('Validation metric: 9.0')"), ScriptedAnswers.review(isBug: false, metric: 9.0),
        ])
        let result = try await CommandRunner.run(
            [Self.startScript.path, "--scripted", answers.path],
            executable: URL(fileURLWithPath: "/bin/bash"), environment: Self.environment(home, steps: 1, timeLimit: 600))
        #expect(result.status == 1)
        #expect(result.stderr.contains("no node wrote a valid submission"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: home.appendingPathComponent("submission/submission.csv").path))
        // The logs are there all the same.
        #expect(FileManager.default.fileExists(atPath: home.appendingPathComponent("logs/run.sqlite").path))
        // A setting that is not key=value is refused before anything runs.
        let bad = try await CommandRunner.run(
            [Self.startScript.path, "agent.steps"], executable: URL(fileURLWithPath: "/bin/bash"),
            environment: Self.environment(home, steps: 1, timeLimit: 600))
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("\"agent.steps\": expected key=value"))
        // Data whose metric nothing names and whose kind is unknown: stopped before searching, saying which kwarg to add.
        let unknown = root.appendingPathComponent("unknown")
        try TaskTestSupport.write("Date,Open,Close\n2024-01-01,1,2\n", to: unknown.appendingPathComponent("data/prices.csv"))
        let undirected = try await CommandRunner.run(
            [Self.startScript.path, "--scripted", answers.path], executable: URL(fileURLWithPath: "/bin/bash"),
            environment: Self.environment(unknown, steps: 1, timeLimit: 600))
        #expect(undirected.status == 1)
        #expect(undirected.stderr.contains("add metric.direction=minimize (or maximize) to the agent's kwargs"), "\(undirected.stderr)")
        #expect(!FileManager.default.fileExists(atPath: unknown.appendingPathComponent("agent/runs").path))
    }

    @Test func installPutsTheAgentWhereMLEBenchsRegistryFindsIt() async throws {
        let root = TaskTestSupport.temporaryDirectory("mlebench-install")
        defer { try? FileManager.default.removeItem(at: root) }
        let checkout = root.appendingPathComponent("mle-bench")
        let install = Self.startScript.deletingLastPathComponent().appendingPathComponent("install.sh").path
        let refused = try await CommandRunner.run([install, checkout.path], executable: URL(fileURLWithPath: "/bin/bash"))
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("not an mle-bench checkout"))

        let agents = checkout.appendingPathComponent("agents")
        try FileManager.default.createDirectory(at: agents, withIntermediateDirectories: true)
        let result = try await CommandRunner.run([install, checkout.path], executable: URL(fileURLWithPath: "/bin/bash"))
        #expect(result.status == 0, "\(result.stderr)")
        // As agents/registry.py checks: each entry's start script and Dockerfile exist under agents/,
        // and kwargs come with a kwargs_type.
        for id in ["aide-swift", "aide-swift/dev", "aide-swift/gpt-4o"] {
            let entry = try Self.agentEntry(id)
            for field in ["start", "dockerfile"] {
                let path = try #require(entry.fields[field], "\(id) has no \(field)")
                #expect(FileManager.default.fileExists(atPath: agents.appendingPathComponent(path).path), "\(id): \(path)")
            }
            #expect(entry.fields["kwargs_type"] == "omegaconf")
            #expect(!entry.kwargs.isEmpty)
        }
        // The Dockerfile builds aide from the committed source beside it.
        let listing = try await CommandRunner.run(
            ["-tzf", agents.appendingPathComponent("aide-swift/aide-src.tar.gz").path], executable: URL(fileURLWithPath: "/bin/tar"))
        #expect(listing.stdout.split(separator: "\n").contains("Package.swift"))
        #expect(listing.stdout.contains("Sources/aide/InitCommand.swift"))
    }
}
