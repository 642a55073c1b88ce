@testable import AIDE
import Foundation
import Testing

/// The rendered prompts of a fixed small tree, committed under docs/prompts/ so that every prompt
/// change shows in a diff. `AIDE_UPDATE_GOLDEN=1 swift test --filter GoldenPromptTests` rewrites them.
struct GoldenPromptTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/prompts")

    static let context: PromptContext = {
        var context = PromptContext(
            taskName: "toy", goal: "Predict y for every id in test.csv.",
            description: "train.csv has x and y (see data_description.txt); write id,y to ./working/submission.csv.",
            metricName: "validation RMSE", direction: .minimize,
            dataPreview: "-> input/train.csv has 30 rows and 3 columns: id, x, y", scriptTimeout: 90,
            submissionFile: "submission.csv", packages: ["numpy", "pandas", "scikit-learn"])
        context.resources = [
            "CPU: 2 threads for this script.", "Memory: at most 4096 MiB per script.", "GPU: none; use the CPU.",
            "Network: none (the sandbox blocks it); download nothing.",
        ]
        context.descriptionFiles = [DescriptionFile(name: "data_description.txt", bytes: 28, text: "x: a number\ny: 2x + 1\n")]
        context.step = StepFacts(timeout: 75, stepsLeft: 6, timeLeft: 75)
        return context
    }()

    static let epoch = Date(timeIntervalSince1970: 1_700_000_000)

    static func node(
        _ id: String, parent: String?, step: Int, stage: Stage, code: String, output: String, metric: Double?,
        buggy: Bool, reasons: [String] = [], summary: String, exception: String? = nil, depth: Int = 0
    ) -> Node {
        Node(
            id: id, parentID: parent, step: step, stage: stage, plan: "Plan of \(id).", code: code,
            execution: ExecutionResult(
                output: output, outputBytes: output.utf8.count, exitCode: exception == nil ? 0 : 1,
                duration: Double(step + 2) * 1.5, exceptionType: exception),
            review: Review(isBug: buggy, summary: summary, metric: metric), metric: buggy ? nil : metric,
            metricSource: buggy ? nil : .output, isBuggy: buggy, bugReasons: reasons, debugDepth: depth,
            createdAt: epoch, finishedAt: epoch)
    }

    /// Draft A (good), draft B (raised), improve of A (good), debug of B (still failing).
    static let tree: Journal = {
        var journal = Journal(direction: .minimize)
        journal.append(node(
            "aaaa0001", parent: nil, step: 0, stage: .draft, code: "print('Validation metric: 0.5')",
            output: "fold 1 rmse 0.49\nValidation metric: 0.5\n", metric: 0.5, buggy: false,
            summary: "A linear model; RMSE 0.5."))
        journal.append(node(
            "bbbb0002", parent: nil, step: 1, stage: .draft, code: "import pandas as pd\npd.read_csv('train.csv')",
            output: "Traceback (most recent call last):\nFileNotFoundError: train.csv\n", metric: nil, buggy: true,
            reasons: ["raised FileNotFoundError"], summary: "Reads train.csv from the wrong folder; use ./input.",
            exception: "FileNotFoundError"))
        journal.append(node(
            "cccc0003", parent: "aaaa0001", step: 2, stage: .improve, code: "print('Validation metric: 0.4')",
            output: "Validation metric: 0.4\n", metric: 0.4, buggy: false, summary: "Added a squared term; RMSE 0.4."))
        journal.append(node(
            "eeee0005", parent: "cccc0003", step: 4, stage: .improve, code: "print('Validation metric: 0.45')",
            output: "Validation metric: 0.45\n", metric: 0.45, buggy: false, summary: "Gradient boosting; worse."))
        journal.append(node(
            "dddd0004", parent: "bbbb0002", step: 3, stage: .debug, code: "import pandas as pd\npd.read_csv('input/tran.csv')",
            output: "Traceback (most recent call last):\nFileNotFoundError: input/tran.csv\n", metric: nil, buggy: true,
            reasons: ["raised FileNotFoundError"], summary: "A typo in the file name.", exception: "FileNotFoundError",
            depth: 1))
        return journal
    }()

    static func prompts() -> [String: StepPrompt] {
        let journal = tree
        let memory = Memory(of: journal)
        let best = journal["cccc0003"]!
        let debug = Prompts.debug(context, parent: journal["dddd0004"]!, earlierAttempts: [journal["bbbb0002"]!], edit: .diff)
        return [
            "draft": Prompts.draft(context, memory: memory),
            "improve": Prompts.improve(context, memory: memory, parent: best, siblings: [journal["eeee0005"]!]),
            "improve-diff": Prompts.improve(context, memory: memory, parent: best, siblings: [journal["eeee0005"]!], edit: .diff),
            "debug": Prompts.debug(context, parent: journal["dddd0004"]!, earlierAttempts: [journal["bbbb0002"]!]),
            "debug-diff": debug,
            "debug-whole-script": Prompts.wholeScript(
                after: "block 1's SEARCH text matches nowhere in the script (it starts `x = 1`)",
                Prompts.debug(context, parent: journal["dddd0004"]!, earlierAttempts: [journal["bbbb0002"]!])),
            "crossover": Prompts.crossover(context, memory: memory, first: best, second: journal["aaaa0001"]!),
            "review": Prompts.review(context, code: best.code, output: best.execution!.output),
            "review-patch": Prompts.review(
                context, code: best.code, output: best.execution!.output, parent: journal["aaaa0001"]!,
                patch: "<<<<<<< SEARCH\nprint('Validation metric: 0.5')\n=======\nprint('Validation metric: 0.4')\n>>>>>>> REPLACE"),
        ]
    }

    /// The stable prefix (the start of every system message, `prefix.md`) once, and per step what
    /// follows it: the shared part of its system message, then its user message.
    static func rendered() -> [String: String] {
        let prompts = prompts()
        var files = prompts.mapValues { prompt in
            let shared = prompt.shared.map(\.text).joined()
            return "<!-- the system message: the prefix (prefix.md), then: -->" + shared
                + "\n\n<!-- the user message: -->\n\n" + prompt.user
        }
        files["prefix"] = prompts["draft"]!.stablePrefix
        return files
    }

    @Test func everyStepSendsTheSamePrefix() {
        let prompts = Self.prompts()
        #expect(Set(prompts.values.map(\.stablePrefix)).count == 1)
        #expect(prompts.values.allSatisfy { $0.system.hasPrefix($0.stablePrefix) && $0.systemBlocks.first?.breakpoint == true })
        var later = Self.context
        later.step = StepFacts(timeout: 12, stepsLeft: 1, timeLeft: 12)
        let other = Memory(entries: [.init(step: 9, text: "other")])
        #expect(Prompts.draft(later, memory: other).stablePrefix == prompts["draft"]!.stablePrefix, "per-step facts leaked into the prefix")
        #expect(!Prompts.draft(later, memory: other).system.contains("This run can take"))
        #expect(prompts["improve-diff"]!.stablePrefix.contains("\n<<<<<<< SEARCH\n"))
        #expect(prompts["improve-diff"]!.stablePrefix.contains("\n>>>>>>> REPLACE\n"))
        #expect(prompts["improve-diff"]!.user.contains("answer in the Change form"))
    }

    @Test func renderedPromptsMatchTheCommittedGoldenFiles() throws {
        let update = ProcessInfo.processInfo.environment["AIDE_UPDATE_GOLDEN"] == "1"
        for (name, text) in Self.rendered().sorted(by: { $0.key < $1.key }) {
            let file = Self.folder.appendingPathComponent("\(name).md")
            if update {
                try FileManager.default.createDirectory(at: Self.folder, withIntermediateDirectories: true)
                try Data((text + "\n").utf8).write(to: file)
                continue
            }
            let golden = try String(contentsOf: file, encoding: .utf8)
            #expect(golden == text + "\n", "docs/prompts/\(name).md differs from the rendered \(name) prompt; rerun with AIDE_UPDATE_GOLDEN=1 and review the diff")
        }
    }
}
