@testable import AIDE
import AIDETesting
import Testing

/// SEARCH/REPLACE patches as models write them, applied to a script.
struct PatchTests {
    static let script = """
        import pandas as pd
        from sklearn.linear_model import Ridge

        def load():
            train = pd.read_csv("./input/train.csv")
            return train

        def fit(train):
            model = Ridge(alpha=1.0)
            model.fit(train[["x"]], train["y"])
            return model

        model = fit(load())
        print("Validation metric: 0.5")
        """

    static func block(_ search: String, _ replace: String) -> String {
        "<<<<<<< SEARCH\n\(search)\n=======\n\(replace)\n>>>>>>> REPLACE"
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var answer: String
        var script: String = PatchTests.script
        var expected: Result<String, PatchError>
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "exact",
            answer: "Stronger regularisation.\n\n" + block("    model = Ridge(alpha=1.0)", "    model = Ridge(alpha=10.0)"),
            expected: .success(script.replacingOccurrences(of: "alpha=1.0", with: "alpha=10.0"))),
        Case(
            name: "inside a fence, with a plan before it",
            answer: "Plan: more alpha.\n```python\n" + block("    model = Ridge(alpha=1.0)", "    model = Ridge(alpha=3.0)") + "\n```\n",
            expected: .success(script.replacingOccurrences(of: "alpha=1.0", with: "alpha=3.0"))),
        Case(
            name: "trailing whitespace forgiven",
            answer: block("def fit(train):   \n    model = Ridge(alpha=1.0)\t", "def fit(train):\n    model = Ridge(alpha=2.0)"),
            expected: .success(script.replacingOccurrences(of: "alpha=1.0", with: "alpha=2.0"))),
        Case(
            name: "indentation shifted uniformly (copied without its indent)",
            answer: block(
                "train = pd.read_csv(\"./input/train.csv\")\nreturn train",
                "train = pd.read_csv(\"./input/train.csv\")\ntrain = train.dropna()\nreturn train"),
            expected: .success(script.replacingOccurrences(
                of: "    return train\n", with: "    train = train.dropna()\n    return train\n"))),
        Case(
            name: "indentation shifted uniformly (copied too deep)",
            answer: block(
                "        model = fit(load())\n        print(\"Validation metric: 0.5\")",
                "        model = fit(load())\n        print(\"Validation metric: 0.4\")"),
            expected: .success(script.replacingOccurrences(of: "0.5\")", with: "0.4\")"))),
        Case(
            name: "no match names the block",
            answer: block("model = Lasso()", "model = Ridge()"),
            expected: .failure(.noMatch(block: 1, firstLine: "model = Lasso()"))),
        Case(
            name: "two matches names the block",
            answer: block("    return model", "    return model") + "\n" + block("    return train", "    return train.copy()")
                + "\n" + block("        return", "        return None"),
            script: script + "\n\ndef other():\n    return model\n",
            expected: .failure(.severalMatches(block: 1, count: 2))),
        Case(
            name: "several blocks",
            answer: "Two changes.\n" + block("from sklearn.linear_model import Ridge", "from sklearn.linear_model import Lasso")
                + "\n\nand\n\n" + block("    model = Ridge(alpha=1.0)", "    model = Lasso(alpha=0.1)"),
            expected: .success(script.replacingOccurrences(of: "import Ridge", with: "import Lasso")
                .replacingOccurrences(of: "Ridge(alpha=1.0)", with: "Lasso(alpha=0.1)"))),
        Case(
            name: "blocks out of the script's order",
            answer: block("print(\"Validation metric: 0.5\")", "print(\"Validation metric: 0.3\")")
                + "\n" + block("import pandas as pd", "import numpy as np\nimport pandas as pd"),
            expected: .success("import numpy as np\n" + script.replacingOccurrences(of: "0.5\")", with: "0.3\")"))),
        Case(
            name: "a later block sees what an earlier one wrote",
            answer: block("    model = Ridge(alpha=1.0)", "    model = Ridge(alpha=5.0)")
                + "\n" + block("    model = Ridge(alpha=5.0)", "    model = Ridge(alpha=6.0)"),
            expected: .success(script.replacingOccurrences(of: "alpha=1.0", with: "alpha=6.0"))),
        Case(
            name: "empty REPLACE deletes the lines",
            answer: "<<<<<<< SEARCH\nmodel = fit(load())\n=======\n>>>>>>> REPLACE\n",
            expected: .success(script.replacingOccurrences(of: "model = fit(load())\n", with: ""))),
        Case(
            name: "CRLF answer on an LF script",
            answer: block("    model = Ridge(alpha=1.0)", "    model = Ridge(alpha=9.0)").replacingOccurrences(of: "\n", with: "\r\n"),
            expected: .success(script.replacingOccurrences(of: "alpha=1.0", with: "alpha=9.0"))),
        Case(
            name: "CRLF script keeps its line endings",
            answer: block("    model = Ridge(alpha=1.0)", "    model = Ridge(alpha=9.0)"),
            script: script.replacingOccurrences(of: "\n", with: "\r\n"),
            expected: .success(script.replacingOccurrences(of: "alpha=1.0", with: "alpha=9.0")
                .replacingOccurrences(of: "\n", with: "\r\n"))),
        Case(
            name: "no block at all",
            answer: "```python\nprint('whole script')\n```",
            expected: .failure(.noBlocks)),
        Case(
            name: "unterminated block",
            answer: block("import pandas as pd", "import polars as pd") + "\n<<<<<<< SEARCH\nmodel = fit(load())\n=======\n",
            expected: .failure(.unterminated(block: 2))),
        Case(
            name: "empty SEARCH",
            answer: "<<<<<<< SEARCH\n\n=======\nprint(1)\n>>>>>>> REPLACE",
            expected: .failure(.emptySearch(block: 1))),
        Case(
            name: "SEARCH longer than the script",
            answer: block(script + "\nmore", "x"),
            expected: .failure(.noMatch(block: 1, firstLine: "import pandas as pd"))),
    ]

    @Test(arguments: cases) func appliesOrNamesTheBlock(_ testCase: Case) {
        let result = Result { () throws(PatchError) -> String in try Patch.apply(testCase.answer, to: testCase.script) }
        switch (result, testCase.expected) {
        case (.success(let got), .success(let want)):
            #expect(got == want, "\(testCase.name)")
        case (.failure(let got), .failure(let want)):
            #expect(got == want, "\(testCase.name)")
        default:
            Issue.record("\(testCase.name): got \(result), expected \(testCase.expected)")
        }
    }

    @Test func errorsSayWhichBlockAndWhy() {
        #expect(PatchError.noMatch(block: 2, firstLine: "x = 1").description
            == "block 2's SEARCH text matches nowhere in the script (it starts `x = 1`)")
        #expect(PatchError.severalMatches(block: 1, count: 3).description.contains("block 1's SEARCH text matches 3 places"))
    }

    @Test func planIsTheProseBeforeTheFirstBlock() {
        let answer = "Raise alpha to 10.\nIt overfits.\n\n```python\n" + Self.block("a", "b") + "\n```"
        #expect(Patch.plan(of: answer) == "Raise alpha to 10.\nIt overfits.")
        #expect(Patch.looksLikePatch(answer))
        #expect(!Patch.looksLikePatch("```python\nprint(1)\n```"))
    }

    /// What an improve step makes of an answer in diff form: the patched script, or why there is none.
    @Test func anAnswerInDiffFormGivesThePatchedScriptOrTheTypedReason() async throws {
        let syntax = PythonSyntaxCheck(python: TestPython.path)
        let parent = "x = 1\nprint(x)\n"
        func block(_ search: String, _ replace: String) -> String {
            "Change it.\n<<<<<<< SEARCH\n\(search)\n=======\n\(replace)\n>>>>>>> REPLACE\n"
        }
        let applied = try await Operators.patched(block("x = 1", "x = 2"), parent: parent, syntax: syntax)
        #expect(try applied.get().code == "x = 2\nprint(x)\n")

        let broken = try await Operators.patched(block("x = 1", "x = (2"), parent: parent, syntax: syntax)
        guard case .failure(.doesNotCompile(let problem)) = broken else {
            Issue.record("a patch that breaks the syntax: \(broken)")
            return
        }
        #expect(problem.hasPrefix("SyntaxError:"))
        #expect(PatchError.doesNotCompile(problem: problem).description == "the patched script did not compile: \(problem)")

        let nowhere = try await Operators.patched(block("y = 1", "y = 2"), parent: parent, syntax: syntax)
        #expect(throws: PatchError.noMatch(block: 1, firstLine: "y = 1")) { try nowhere.get() }
        let prose = try await Operators.patched("I would raise alpha.", parent: parent, syntax: syntax)
        #expect(throws: PatchError.noBlocks) { try prose.get() }
    }
}
