@testable import AIDE
import AIDETesting
import Foundation
import Testing

/// From a data folder to a search: aideml's command line, `aide run --data`, `aide init` (a data
/// folder, `--check`, `--mlebench`), and grading commands, driven through the real `aide` binary.
struct OnrampCommandTests {
    /// aideml's example data sets: `$AIDE_SHARED_DATASETS`, else ../shared/datasets beside the repository.
    static let datasets: URL = {
        if let configured = ProcessInfo.processInfo.environment["AIDE_SHARED_DATASETS"], !configured.isEmpty {
            return URL(fileURLWithPath: configured)
        }
        return TaskTestSupport.repository.deletingLastPathComponent().appendingPathComponent("shared/datasets")
    }()
    static let haveHousePrices = FileManager.default.fileExists(atPath: datasets.appendingPathComponent("house_prices/train.csv").path)
    static let noHousePrices = "needs aideml's house_prices under $AIDE_SHARED_DATASETS or ../shared/datasets"

    /// One answer pair, repeated: a script that copies the sample submission (valid for any task that
    /// has one) and a review reporting `metric`.
    static func copySampleAnswers(metric: Double = 0.5, steps: Int = 4) throws -> URL {
        let script = """
            import shutil
            shutil.copy("./input/sample_submission.csv", "./working/submission.csv")
            print("Validation metric: \(metric)")
            """
        var lines: [String] = []
        for _ in 0..<steps {
            lines.append(ScriptedAnswers.code(script))
            lines.append(ScriptedAnswers.review(isBug: false, metric: metric))
        }
        return try ScriptedAnswers.file(lines)
    }

    /// A small data folder like aideml's: train.csv (id, x, y), test.csv (id, x), sample_submission.csv.
    static func dataFolder(_ root: URL) throws -> URL {
        let data = root.appendingPathComponent("data")
        var train = "id,x,y\n", test = "id,x\n", sample = "id,y\n"
        for id in 0..<40 {
            if id % 4 == 0 {
                test += "\(id),\(Double(id) / 4)\n"
                sample += "\(id),0\n"
            } else {
                train += "\(id),\(Double(id) / 4),\(Double(id) / 2 + 1.25)\n"
            }
        }
        try TaskTestSupport.write(train, to: data.appendingPathComponent("train.csv"))
        try TaskTestSupport.write(test, to: data.appendingPathComponent("test.csv"))
        try TaskTestSupport.write(sample, to: data.appendingPathComponent("sample_submission.csv"))
        return data
    }

    static func onlyRun(in runs: URL) throws -> URL {
        let names = try FileManager.default.contentsOfDirectory(atPath: runs.path).filter { !$0.hasPrefix(".") }
        try #require(names.count == 1, "expected one run folder in \(runs.path), found \(names)")
        return runs.appendingPathComponent(names[0])
    }

    static func nodes(_ run: URL) throws -> [Node] {
        try RunStore.openReadOnly(path: run.appendingPathComponent("run.sqlite")).nodes()
    }

    // MARK: aideml's command line

    @Test func aidemlCommandLineRunsASearchAndKeepsTheInferredTask() async throws {
        let root = TaskTestSupport.temporaryDirectory("aideml")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = try Self.dataFolder(root)
        let runs = root.appendingPathComponent("runs")
        let answers = try Self.copySampleAnswers()
        let result = try await CommandRunner.run(
            [
                "data_dir=\(data.path)", "goal=Predict y for each id", "eval=Use the RMSE between predicted and observed y.",
                "agent.steps=2", "agent.code.model=gpt-4o", "agent.feedback.model=gpt-4o-mini", "exp_name=line",
                "exec.python=\(TestPython.path)", "copy_data=False", "--scripted", answers.path, "--runs-dir", runs.path,
            ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("inferred task.yaml:"))
        #expect(result.stderr.contains("direction: minimize  # from the eval text"))
        #expect(result.stderr.contains("copy_data=False has no counterpart here; ignored"))
        let run = try Self.onlyRun(in: runs)
        #expect(run.lastPathComponent.hasPrefix("line-"))
        #expect(try Self.nodes(run).count == 2)
        // The saved task file runs as is.
        let kept = try TaskLoader.load(run.appendingPathComponent("task.yaml"))
        #expect(kept.spec.metric.direction == .minimize)
        #expect(kept.spec.metric.name == "validation RMSE")
        #expect(kept.spec.budget.steps == 2)
        #expect(kept.spec.agent.codeModel == "gpt-4o")
        #expect(kept.spec.agent.feedbackModel == "gpt-4o-mini")
        #expect(kept.dataDirectory.path == data.standardizedFileURL.path)
        #expect(kept.descriptionText.contains("Use the RMSE"))
    }

    @Test func anEvalWithoutAKnownMetricAsksForTheDirection() async throws {
        let root = TaskTestSupport.temporaryDirectory("aideml-direction")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = try Self.dataFolder(root)
        let runs = root.appendingPathComponent("runs")
        let vague = try await CommandRunner.run(
            ["data_dir=\(data.path)", "goal=Predict y", "eval=Be as close as you can.", "--runs-dir", runs.path])
        #expect(vague.status != 0)
        #expect(vague.stderr.contains("the eval text \"Be as close as you can.\" names no metric aide knows"), "\(vague.stderr)")
        #expect(vague.stderr.contains("add eval=\"…\" naming it"))
        #expect(vague.stderr.contains("or metric.direction=minimize (or metric.direction=maximize)"))
        #expect(!FileManager.default.fileExists(atPath: runs.path), "nothing is created before the error")
        let unknown = try await CommandRunner.run(["data_dir=\(data.path)", "goal=Predict y", "agent.stepz=3"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("unknown key \"agent.stepz\""))
        // With the key added, the same eval runs.
        let answers = try Self.copySampleAnswers()
        let given = try await CommandRunner.run(
            [
                "data_dir=\(data.path)", "goal=Predict y", "eval=Be as close as you can.", "metric.direction=maximize",
                "agent.steps=1", "exec.python=\(TestPython.path)", "--scripted", answers.path, "--runs-dir", runs.path,
            ])
        #expect(given.status == 0, "\(given.stderr)")
        let kept = try TaskLoader.load(Self.onlyRun(in: runs).appendingPathComponent("task.yaml"))
        #expect(kept.spec.metric.direction == .maximize)
    }

    @Test func runWithDataButNoMetricSaysWhatToAddInOneLine() async throws {
        let root = TaskTestSupport.temporaryDirectory("run-data-no-metric")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = try Self.dataFolder(root)
        let runs = root.appendingPathComponent("runs")
        // No --eval, no description: the regression default (RMSE) is a guess, not the task's metric.
        let result = try await CommandRunner.run(["run", "--data", data.path, "--goal", "Predict y", "--runs-dir", runs.path])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "one line: \(result.stderr)")
        #expect(result.stderr.hasPrefix("Error: nothing names the metric (no --eval, and no description names one)"))
        #expect(result.stderr.contains("add --eval \"…\" naming it"))
        #expect(result.stderr.contains("or --set metric.direction=minimize (or --set metric.direction=maximize)"))
        #expect(!FileManager.default.fileExists(atPath: runs.path), "nothing is created before the error")
        // A description.md beside the data whose Evaluation names the metric settles it.
        try TaskTestSupport.write(
            "# Predict y\n\n## Evaluation\n\nSubmissions are scored on the mean absolute error.\n",
            to: root.appendingPathComponent("description.md"))
        let answers = try Self.copySampleAnswers()
        let described = try await CommandRunner.run(
            [
                "run", "--data", data.path, "--goal", "Predict y", "--steps", "1", "--set", "exec.python=\(TestPython.path)",
                "--scripted", answers.path, "--runs-dir", runs.path,
            ])
        #expect(described.status == 0, "\(described.stderr)")
        let kept = try TaskLoader.load(Self.onlyRun(in: runs).appendingPathComponent("task.yaml"))
        #expect(kept.spec.metric.direction == .minimize)
        #expect(kept.spec.metric.name == "validation MAE")
    }

    @Test func runWithDataGoalAndEvalFlags() async throws {
        let root = TaskTestSupport.temporaryDirectory("run-data")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = try Self.dataFolder(root)
        let runs = root.appendingPathComponent("runs")
        let answers = try Self.copySampleAnswers()
        let result = try await CommandRunner.run(
            [
                "run", "--data", data.path, "--goal", "Predict y", "--eval", "Accuracy of the rounded y", "--steps", "2",
                "--set", "exec.python=\(TestPython.path)", "--scripted", answers.path, "--runs-dir", runs.path,
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let run = try Self.onlyRun(in: runs)
        let kept = try TaskLoader.load(run.appendingPathComponent("task.yaml"))
        #expect(kept.spec.metric.direction == .maximize)
        #expect(kept.spec.budget.steps == 2)
        #expect(kept.spec.name == root.lastPathComponent)
        let both = try await CommandRunner.run(["run", "task.yaml", "--data", data.path, "--goal", "x"])
        #expect(both.status != 0)
        #expect(both.stderr.contains("one of them"))
        let noGoal = try await CommandRunner.run(["run", "--data", data.path])
        #expect(noGoal.stderr.contains("--data needs --goal"))
    }

    // MARK: aide init

    /// Each shipped task's data (prepared by its own prepare command), inferred by `aide init`: the id
    /// and target the task file names, and a scripted search that runs on the inferred task.
    @Test(.enabled(if: haveHousePrices, Comment(rawValue: noHousePrices)), .enabled(Comment(rawValue: TaskTestSupport.noPython)) { await TaskTestSupport.pythonAvailable() })
    func initInfersEachShippedTask() async throws {
        let root = TaskTestSupport.temporaryDirectory("init-shipped")
        defer { try? FileManager.default.removeItem(at: root) }
        let answers = try Self.copySampleAnswers(steps: 10)
        let tasks = ["house-prices", "bitcoin-price", "wine", "diabetes", "breast-cancer"]
        let kinds = [
            "house-prices": "regression", "bitcoin-price": "regression", "wine": "multi-class classification",
            "diabetes": "regression", "breast-cancer": "binary classification",
        ]
        for name in tasks {
            let shipped = try await TaskTestSupport.loadShipped(name)
            let output = root.appendingPathComponent("\(name)/task.yaml")
            let result = try await CommandRunner.run(
                ["init", shipped.dataDirectory.path, "--output", output.path, "--python", TestPython.path],
                environment: ["AIDE_SHARED_DATASETS": Self.datasets.path])
            #expect(result.status == 0, "\(name): \(result.stderr)")
            let grading = try #require(shipped.spec.grading)
            #expect(result.stdout.contains("# Id column: \(grading.idColumn); target: \(grading.targetColumn)"), "\(name): \(result.stdout)")
            #expect(result.stdout.contains("# Task kind: \(kinds[name]!)"), "\(name): \(result.stdout)")
            let inferred = try TaskLoader.load(output)
            #expect(inferred.dataDirectory.path == shipped.dataDirectory.path)
            #expect(inferred.spec.goal.contains(grading.targetColumn))

            let runs = root.appendingPathComponent("\(name)/runs")
            let search = try await CommandRunner.run(
                ["run", output.path, "--scripted", answers.path, "--steps", "2", "--runs-dir", runs.path])
            #expect(search.status == 0, "\(name): \(search.stderr)")
            let nodes = try Self.nodes(Self.onlyRun(in: runs))
            #expect(nodes.count == 2 && nodes.allSatisfy { !$0.isBuggy }, "\(name): \(nodes.map(\.bugReasons))")
        }
    }

    /// `aide init` writes `exec.python: python3`, a bare name: the sandbox finds it on PATH as the
    /// shell would, rather than giving up and running scripts unsandboxed.
    @Test func initsDefaultPythonRunsInTheSandbox() async throws {
        let root = TaskTestSupport.temporaryDirectory("init-python3")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = try Self.dataFolder(root)
        let output = root.appendingPathComponent("task.yaml")
        let initialized = try await CommandRunner.run(["init", data.path, "--eval", "RMSE", "--output", output.path])
        #expect(initialized.status == 0, "\(initialized.stderr)")
        #expect(try TaskLoader.load(output).spec.exec.python == "python3")
        let runs = root.appendingPathComponent("runs")
        let search = try await CommandRunner.run(
            ["run", output.path, "--scripted", Self.copySampleAnswers(steps: 1).path, "--steps", "1", "--runs-dir", runs.path],
            environment: ["PATH": "/usr/bin:/bin"])
        #expect(search.status == 0, "\(search.stderr)")
        #expect(!search.stderr.contains("python3:"), "\(search.stderr)")
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap") {
            #expect(search.stderr.contains("scripts run in sandbox: bwrap"), "\(search.stderr)")
        }
    }

    @Test func initLeavesTODOsWhereItCannotInferAndRefusesToOverwrite() async throws {
        let root = TaskTestSupport.temporaryDirectory("init-todo")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("prices")
        try TaskTestSupport.write("Date,Open,Close\n2024-01-01,1,2\n", to: data.appendingPathComponent("BTC-USD.csv"))
        let output = root.appendingPathComponent("task.yaml")
        let result = try await CommandRunner.run(["init", data.path, "--output", output.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("goal: Solve the task in the data folder.  # TODO: say what to predict"))
        #expect(result.stdout.contains("  # direction: minimize  # TODO: minimize or maximize"))
        #expect(result.stderr.contains("TODO metric.direction"))
        // Until the direction is set the file does not load, and says why.
        #expect(throws: TaskError.self) { try TaskLoader.load(output) }
        let again = try await CommandRunner.run(["init", data.path, "--output", output.path])
        #expect(again.status != 0)
        #expect(again.stderr.contains("exists; choose another --output or add --force"))
    }

    @Test(.enabled(if: haveHousePrices, Comment(rawValue: noHousePrices)))
    func checkPrintsWhatATaskResolvesTo() async throws {
        let task = TaskTestSupport.repository.appendingPathComponent("tasks/bitcoin-price/task.yaml")
        _ = try await TaskTestSupport.loadShipped("bitcoin-price")  // prepared here, not by aide beside another test
        let result = try await CommandRunner.run(
            ["init", "--check", task.path], environment: ["AIDE_SHARED_DATASETS": Self.datasets.path])
        #expect(result.status == 0, "\(result.stderr)")
        for expected in [
            "task: bitcoin-price", "train.csv", "test.csv", "sample_submission.csv", "answers: ", "answers.csv (52 rows)",
            "grader: rmse_log (minimize) on Close, joined on Date", "python: ", "Python 3.",
        ] {
            #expect(result.stdout.contains(expected), "missing \(expected) in \(result.stdout)")
        }
    }

    // MARK: MLE-bench

    /// An mle-bench prepared competition built from house prices: prepared/public (train, test,
    /// sample submission, description.md) and prepared/private/test.csv (the answers).
    static func mlebenchFixture(_ root: URL, evaluation: String) throws -> URL {
        let source = try CSVTable(contentsOf: datasets.appendingPathComponent("house_prices/train.csv"))
        let competition = root.appendingPathComponent("house-prices-fixture")
        let publicDir = competition.appendingPathComponent("prepared/public")
        let privateDir = competition.appendingPathComponent("prepared/private")
        let id = source.columnIndex("Id")!, price = source.columnIndex("SalePrice")!
        func csv(_ header: [String], _ rows: [[String]]) -> String {
            ([header] + rows).map { $0.map { $0.contains(",") ? "\"\($0)\"" : $0 }.joined(separator: ",") }.joined(separator: "\n") + "\n"
        }
        let train = source.rows.enumerated().filter { $0.offset % 5 != 0 }.map(\.element)
        let test = source.rows.enumerated().filter { $0.offset % 5 == 0 }.map(\.element)
        let drop = { (row: [String]) in row.enumerated().filter { $0.offset != price }.map(\.element) }
        try TaskTestSupport.write(csv(source.header, train), to: publicDir.appendingPathComponent("train.csv"))
        try TaskTestSupport.write(csv(drop(source.header), test.map(drop)), to: publicDir.appendingPathComponent("test.csv"))
        try TaskTestSupport.write(
            csv(["Id", "SalePrice"], test.map { [$0[id], "180000"] }), to: publicDir.appendingPathComponent("sample_submission.csv"))
        try TaskTestSupport.write(
            "# House Prices - Advanced Regression Techniques\n\n## Description\n\nPredict sales prices.\n\n## Evaluation\n\n"
                + evaluation + "\n\n## Submission File\n\nId,SalePrice\n",
            to: publicDir.appendingPathComponent("description.md"))
        try TaskTestSupport.write(csv(["Id", "SalePrice"], test.map { [$0[id], $0[price]] }), to: privateDir.appendingPathComponent("test.csv"))
        return competition.appendingPathComponent("prepared")
    }

    @Test(.enabled(if: haveHousePrices, Comment(rawValue: noHousePrices)))
    func mlebenchCompetitionBecomesAGradedTask() async throws {
        let root = TaskTestSupport.temporaryDirectory("mlebench")
        defer { try? FileManager.default.removeItem(at: root) }
        let prepared = try Self.mlebenchFixture(
            root,
            evaluation: "Submissions are evaluated on Root-Mean-Squared-Error (RMSE) between the logarithm of the "
                + "predicted value and the logarithm of the observed sales price.")
        let output = root.appendingPathComponent("task/task.yaml")
        let result = try await CommandRunner.run(
            ["init", "--mlebench", prepared.path, "--output", output.path, "--python", TestPython.path])
        #expect(result.status == 0, "\(result.stderr)")
        let task = try TaskLoader.load(output)
        #expect(task.spec.name == "house-prices-fixture")
        #expect(task.spec.goal.contains("House Prices - Advanced Regression Techniques"))
        #expect(task.dataDirectory == prepared.appendingPathComponent("public").standardizedFileURL)
        #expect(task.answersFile == prepared.appendingPathComponent("private/test.csv").standardizedFileURL)
        #expect(task.descriptionText.contains("## Evaluation"))
        #expect(task.spec.metric.direction == .minimize)
        let grading = try #require(task.spec.grading)
        #expect(grading.metric == .rmseLog && grading.idColumn == "Id" && grading.targetColumn == "SalePrice")

        let runs = root.appendingPathComponent("runs")
        let search = try await CommandRunner.run(
            ["run", output.path, "--scripted", Self.copySampleAnswers().path, "--steps", "2", "--runs-dir", runs.path])
        #expect(search.status == 0, "\(search.stderr)")
        let nodes = try Self.nodes(Self.onlyRun(in: runs))
        // The sample submission (a constant) graded on the private answers: a real, positive RMSE of logs.
        #expect(nodes.count == 2)
        #expect(nodes.allSatisfy { ($0.testScore ?? 0) > 0.2 && ($0.testScore ?? 9) < 1 }, "\(nodes.map(\.testScore))")
    }

    @Test(.enabled(if: haveHousePrices, Comment(rawValue: noHousePrices)))
    func mlebenchMetricWithoutABuiltInBecomesAGradingCommand() async throws {
        let root = TaskTestSupport.temporaryDirectory("mlebench-command")
        defer { try? FileManager.default.removeItem(at: root) }
        let prepared = try Self.mlebenchFixture(root, evaluation: "Submissions are scored by the mean absolute percentage error (MAPE).")
        let output = root.appendingPathComponent("task.yaml")
        let result = try await CommandRunner.run(["init", "--mlebench", prepared.path, "--output", output.path])
        #expect(result.status == 0, "\(result.stderr)")
        let task = try TaskLoader.load(output)
        let grading = try #require(task.spec.grading)
        #expect(grading.metric == nil)
        #expect(grading.command?.hasPrefix("mlebench grade-sample {submission} house-prices-fixture --data-dir ") == true)
        #expect(grading.direction == .minimize)
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("nope").path))
        let bad = try await CommandRunner.run(["init", "--mlebench", root.path, "--output", root.appendingPathComponent("x.yaml").path])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("is not an mle-bench prepared competition"))
    }

    // MARK: Grading commands

    @Test func gradingCommandScoresEveryNodeOfASearch() async throws {
        let root = TaskTestSupport.temporaryDirectory("grading-command")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = try Self.dataFolder(root)
        try TaskTestSupport.write("id,y\n" + (0..<10).map { "\($0 * 4),\(Double($0) + 1)\n" }.joined(), to: root.appendingPathComponent("answers.csv"))
        // The task's own grader: the share of ids predicted within 0.5, printed as JSON last.
        try TaskTestSupport.write(
            """
            import csv, json, sys
            sub = {r["id"]: float(r["y"]) for r in csv.DictReader(open(sys.argv[1]))}
            ans = {r["id"]: float(r["y"]) for r in csv.DictReader(open(sys.argv[2]))}
            print("grading", len(ans), "rows")
            print(json.dumps({"score": sum(abs(sub[k] - v) <= 0.5 for k, v in ans.items()) / len(ans)}))
            """, to: root.appendingPathComponent("grade.py"))
        try TaskTestSupport.write(
            """
            name: graded-by-command
            goal: Predict y.
            data: \(data.lastPathComponent)
            metric: {name: validation RMSE, direction: minimize}
            grading:
              answers: answers.csv
              command: \(TestPython.path) grade.py {submission} {answers}
              direction: maximize
            exec: {python: \(TestPython.path)}
            """, to: root.appendingPathComponent("task.yaml"))
        // The sample predicts 0 everywhere: only id 0 (y = 1) is off by more than 0.5... all are; so use a fitted script.
        let script = """
            import csv
            rows = list(csv.DictReader(open("./input/test.csv")))
            print("Validation metric: 0.1")
            with open("./working/submission.csv", "w") as out:
                out.write("id,y\\n")
                for r in rows:
                    out.write(f"{r['id']},{float(r['x']) + 1 if int(r['id']) < 20 else 0}\\n")
            """
        let answers = try ScriptedAnswers.file([ScriptedAnswers.code(script), ScriptedAnswers.review(isBug: false, metric: 0.1)])
        let runs = root.appendingPathComponent("runs")
        let result = try await CommandRunner.run(
            ["run", root.appendingPathComponent("task.yaml").path, "--scripted", answers.path, "--steps", "1", "--runs-dir", runs.path])
        #expect(result.status == 0, "\(result.stderr)")
        let nodes = try Self.nodes(Self.onlyRun(in: runs))
        // ids 0, 4, …, 16 are right (x + 1 = id/4 + 1), 20 … 36 wrong: 5 of 10.
        #expect(nodes.first?.testScore == 0.5, "\(nodes.map { ($0.testScore, $0.error) })")
        let check = try await CommandRunner.run(["init", "--check", root.appendingPathComponent("task.yaml").path])
        #expect(check.stdout.contains("grader: command `\(TestPython.path) grade.py {submission} {answers}`, maximize"), "\(check.stdout)")
        // A command without a direction is refused at load, at its line.
        try TaskTestSupport.write(
            "name: x\ngoal: y\ndata: data\nmetric: {direction: minimize}\ngrading:\n  answers: answers.csv\n  command: python3 grade.py\n",
            to: root.appendingPathComponent("bad.yaml"))
        let error = try #require(throws: TaskError.self) { try TaskLoader.load(root.appendingPathComponent("bad.yaml")) }
        #expect(error.description.contains("grading.direction"))
    }
}
