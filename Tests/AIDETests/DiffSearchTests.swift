@testable import AIDE
import AIDETesting
import Foundation
import Testing

/// `agent.edit_format: diff` through the real loop (`aide run --scripted`): improve steps answered
/// with SEARCH/REPLACE blocks, one of them a bad patch that falls back to a whole script.
struct DiffSearchTests {
    private typealias A = ScriptedAnswers

    static func patch(_ pairs: [(search: String, replace: String)], plan: String) -> String {
        let blocks = pairs.map { "<<<<<<< SEARCH\n\($0.search)\n=======\n\($0.replace)\n>>>>>>> REPLACE" }
        let data = try! JSONEncoder().encode(["kind": "code", "text": plan + "\n\n" + blocks.joined(separator: "\n\n")])
        return String(decoding: data, as: UTF8.self)
    }

    @Test func improveStepsAnswerInDiffFormAndABadPatchFallsBackToTheWholeScript() async throws {
        // Code taken from a fenced block loses its final newline.
        func stored(_ script: String) -> String { script.hasSuffix("\n") ? String(script.dropLast()) : script }
        let draft = A.goodScript(metric: 0.5)
        let afterFirstPatch = draft.replacingOccurrences(of: "return 2.0 * x + 1.0", with: "return 2.0 * x + 1.1")
            .replacingOccurrences(of: "Validation metric: 0.5", with: "Validation metric: 0.4")
        let whole = A.goodScript(slope: 2, intercept: 1.2, metric: 0.3)
        // Copied without its indentation: applied with the script's.
        let afterShiftedPatch = whole.replacingOccurrences(of: "Validation metric: 0.3", with: "Validation metric: 0.2")
        let answers = [
            A.code(draft), A.review(isBug: false, metric: 0.5),
            Self.patch([
                ("    return 2.0 * x + 1.0", "    return 2.0 * x + 1.1"),
                ("        print(\"Validation metric: 0.5\")", "        print(\"Validation metric: 0.4\")"),
            ], plan: "Nudge the intercept."),
            A.review(isBug: false, metric: 0.4),
            Self.patch([("    return 3.0 * x", "    return 3.5 * x")], plan: "A patch against a line that is not there."),
            A.code(whole, plan: "The whole script, as asked."), A.review(isBug: false, metric: 0.3),
            Self.patch([("print(\"Validation metric: 0.3\")", "print(\"Validation metric: 0.2\")")], plan: "Shifted."),
            A.review(isBug: false, metric: 0.2),
        ]
        let run = try await ScriptedLoop.run(
            answers: answers, steps: 4,
            settings: ["search.num_drafts=1", "search.debug_prob=0", "agent.edit_format=diff"])
        defer { run.remove() }
        #expect(run.status == 0, "\(run.log.suffix(2000))")
        try #require(run.nodes.count == 4, "\(run.log.suffix(2000))")
        let (first, bad, shifted) = (run.nodes[1], run.nodes[2], run.nodes[3])

        #expect(first.stage == .improve && !first.isBuggy && first.metric == 0.4)
        #expect(first.code == stored(afterFirstPatch))
        #expect(first.plan == "Nudge the intercept.")
        #expect(first.patch?.hasPrefix("<<<<<<< SEARCH\n    return 2.0 * x + 1.0\n=======\n") == true)

        // The bad patch cost one more call, which asked for the whole script and said why.
        #expect(bad.patch == nil)
        #expect(bad.code == stored(whole) && bad.metric == 0.3 && !bad.isBuggy)
        let store = try RunStore.openReadOnly(path: run.folder.appendingPathComponent("run.sqlite"))
        let badCalls = try store.calls(nodeID: bad.id).filter { $0.purpose == .improve }
        #expect(badCalls.count == 2)
        let fallback = run.prompts(containing: "Why the whole script is asked for")
        #expect(fallback.count == 1)
        #expect(fallback.first?.contains("block 1's SEARCH text matches nowhere in the script (it starts `return 3.0 * x`)") == true)
        #expect(fallback.first?.contains("exactly one fenced ```python code block") == true)

        #expect(shifted.code == stored(afterShiftedPatch) && shifted.metric == 0.2)
        #expect(try store.calls(nodeID: shifted.id).filter { $0.purpose == .improve }.count == 1)

        // The marker lines are in the stable prefix, which every call of the run starts its system
        // message with; three improve calls asked for the Change form, the fallback for a whole script.
        let improves = run.prompts(containing: "Improve the working solution")
        #expect(improves.filter { $0.contains("answer in the Change form") }.count == 3)
        #expect(improves.filter { $0.contains("answer in the Whole script form") }.count == 1)
        let systems = run.requests().compactMap { $0["system"] as? String }
        let prefixes = Set(systems.map { $0.components(separatedBy: "\n\n# Memory\n\n")[0].components(separatedBy: "\n\n# Solution\n\n")[0] })
        #expect(prefixes.count == 1 && prefixes.first?.contains("\n<<<<<<< SEARCH\n") == true)
        // A patched script's review shows its parent and the patch, not the whole new script; the
        // draft's review, and the fallback's (whose change is longer than this short script), show
        // the whole script.
        let reviews = run.prompts(containing: "The new script is the solution above")
        #expect(reviews.count == 2)
        #expect(run.prompts(containing: "You wrote and ran the solution above").count == 2)
        #expect(reviews.first?.contains("# The change\n\n```\n<<<<<<< SEARCH\n    return 2.0 * x + 1.0\n") == true)
        #expect(reviews.first?.contains("return 2.0 * x + 1.1") == true && reviews.first?.contains("Validation metric: 0.4") == true)

        // `aide report --node` shows the change against the parent; JSON carries it as `diff`.
        let detail = try NodeDetail.load(store, node: first.id)
        let text = try ReportRenderer.render(detail, format: .text)
        #expect(text.contains("── change against the parent (patch) ──\n@@ block 1 @@\n-    return 2.0 * x + 1.0\n+    return 2.0 * x + 1.1\n"))
        #expect(try ReportRenderer.render(detail, format: .json).contains("\"diff\" : \"@@ block 1 @@"))
        #expect(try NodeDetail.load(store, node: bad.id).diff == nil)
        let page = try HTMLReport.load(store)
        #expect(page.contains("Change against the parent (patch)") && page.contains("@@ block 1 @@"))
    }
}

struct EditFormatSettingTests {
    @Test func unknownValuesAreRefusedWithTheirLine() throws {
        for (key, value, allowed) in [
            ("edit_format", "patch", "full, diff, auto"), ("prompt_cache", "forever", "auto, off, 1h"),
        ] {
            let task = try SyntheticTask(steps: 1, extraYAML: "agent:\n  \(key): \(value)\n")
            defer { task.remove() }
            let lines = try String(contentsOf: task.taskFile, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            let line = (lines.firstIndex { $0.contains("\(key):") } ?? -1) + 1
            #expect(throws: TaskError.self) { try TaskLoader.load(task.taskFile) }
            do {
                _ = try TaskLoader.load(task.taskFile)
            } catch {
                let text = ErrorText.line(error)
                #expect(text.contains(":\(line):"), "\(text)")
                #expect(text.contains("agent.\(key): expected one of \(allowed), found \"\(value)\""), "\(text)")
            }
        }
        let task = try SyntheticTask(steps: 1, extraYAML: "agent:\n  edit_format: auto\n  prompt_cache: 1h\n")
        defer { task.remove() }
        let spec = try TaskLoader.load(task.taskFile).spec
        #expect(spec.agent.editFormat == .auto && spec.agent.promptCache == .oneHour)
        #expect(spec.agent.codeOptions.promptCache == .oneHour && spec.agent.reviewOptions.promptCache == .oneHour)
        #expect(EditFormat.auto.form(editing: String(repeating: "x = 1\n", count: 41)) == .diff)
        #expect(EditFormat.auto.form(editing: String(repeating: "x = 1\n", count: 40)) == .full)
    }
}
