import Foundation

/// Answers in the shapes models really write, each with the code the harness must take from it:
/// line endings, fence kinds, info strings, prose around, several blocks, cut answers.
public enum ExtractionCorpus {
    /// One answer shape. `code` is nil when the answer holds no usable code.
    public struct Shape: Sendable {
        public var name: String
        public var answer: String
        public var code: String?
    }

    /// A runnable script for the synthetic task that prints `metric`; its text without the final
    /// newline is what extraction must return.
    public static func script(_ metric: Double) -> String {
        var text = ScriptedAnswers.goodScript(metric: metric)
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    private static let snippet = "model.fit(X, y)\nprint(model.score(X, y))"

    private static func fenced(_ open: String, _ code: String, _ close: String? = nil) -> String {
        let marker = String(open.prefix { $0 == "`" || $0 == "~" })
        return open + "\n" + code + "\n" + (close ?? marker)
    }

    private static func indented(_ text: String, by prefix: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : prefix + $0 }
            .joined(separator: "\n")
    }

    /// Shapes that hold a runnable script, the one with index `i` printing metric `i`. The real
    /// loop runs every one of them.
    public static let runnable: [Shape] = {
        var shapes: [Shape] = []
        func add(_ name: String, _ make: (String) -> (answer: String, code: String?)) {
            let code = script(Double(shapes.count))
            let made = make(code)
            shapes.append(Shape(name: name, answer: made.answer, code: made.code ?? code))
        }
        let plan = "I will fit a linear model on x and predict y.\n\n"
        add("python fence") { (plan + fenced("```python", $0), nil) }
        add("py fence") { (plan + fenced("```py", $0), nil) }
        add("python3 fence") { (plan + fenced("```python3", $0), nil) }
        add("capitalised Python") { (plan + fenced("```Python", $0), nil) }
        add("upper-case PY") { (plan + fenced("```PY", $0), nil) }
        add("info string with a title") { (plan + fenced("```python title=\"train.py\"", $0), nil) }
        add("info string python:file") { (plan + fenced("```python:train.py", $0), nil) }
        add("pandoc-style {.python}") { (plan + fenced("```{.python}", $0), nil) }
        add("python3 with attributes") { (plan + fenced("```python3 {linenos=true}", $0), nil) }
        add("space before the info string") { (plan + fenced("``` python", $0), nil) }
        add("untagged fence") { (plan + fenced("```", $0), nil) }
        add("four backticks") { (plan + fenced("````python", $0), nil) }
        add("tildes") { (plan + fenced("~~~python", $0), nil) }
        add("four tildes untagged") { (plan + fenced("~~~~", $0), nil) }
        add("CRLF line endings") {
            ((plan + fenced("```python", $0) + "\n\nThis prints the metric.\n").replacingOccurrences(of: "\n", with: "\r\n"), nil)
        }
        add("CR line endings") { ((plan + fenced("```python", $0)).replacingOccurrences(of: "\n", with: "\r"), nil) }
        add("mixed line endings") {
            let lines = (plan + fenced("```python", $0)).split(separator: "\n", omittingEmptySubsequences: false)
            return (lines.enumerated().map { $0.offset % 2 == 0 ? $0.element + "\r" : $0.element }.joined(separator: "\n"), nil)
        }
        add("prose before and after") {
            (plan + fenced("```python", $0) + "\n\nRun it from the task folder; it writes the submission.", nil)
        }
        add("no plan at all") { (fenced("```python", $0), nil) }
        add("markdown headings around") {
            ("## Plan\n\n" + plan + "## Code\n\n" + fenced("```python", $0) + "\n\n## Notes\n\nNothing else.", nil)
        }
        add("bullet-list plan") { ("- read the data\n- fit a line\n- write the submission\n\n" + fenced("```python", $0), nil) }
        add("fence inside a list item, indented") {
            ("1. The script:\n\n" + indented(fenced("```python", $0), by: "   ") + "\n\n2. Run it.", nil)
        }
        add("trailing spaces after the info string") { (plan + fenced("```python   ", $0), nil) }
        add("trailing spaces after the closing fence") { (plan + fenced("```python", $0, "```  "), nil) }
        add("longer closing fence") { (plan + fenced("```python", $0, "`````"), nil) }
        add("blank lines around the code") { (plan + fenced("```python", "\n\n" + $0 + "\n\n"), nil) }
        add("tab indentation") { code in
            let tabbed = code.replacingOccurrences(of: "        ", with: "\t\t").replacingOccurrences(of: "    ", with: "\t")
            return (plan + fenced("```python", tabbed), tabbed)
        }
        add("unicode in code, CRLF") { code in
            let text = "# Modèle linéaire — prédit y ✓\n" + code
            return ((plan + fenced("```python", text)).replacingOccurrences(of: "\n", with: "\r\n"), text)
        }
        add("backticks inside a code line") { code in
            let text = "FENCE = \"```\"  # not a fence: the line does not start with it\n" + code
            return (plan + fenced("```python", text), text)
        }
        add("four-backtick block holding a triple-backtick line") { code in
            let text = "README = \"\"\"\n```\nexample\n```\n\"\"\"\n" + code
            return (plan + fenced("````python", text), text)
        }
        add("tilde block holding a backtick fence") { code in
            let text = "NOTE = \"\"\"\n```python\nprint(1)\n```\n\"\"\"\n" + code
            return (plan + fenced("~~~python", text), text)
        }
        add("inline code and backticks in the prose") {
            ("Use `pandas` and write ``` fences ``` in prose: " + plan + fenced("```python", $0), nil)
        }
        add("short snippet before the full script") {
            (plan + "The key line is:\n\n" + fenced("```python", snippet) + "\n\nThe full script:\n\n" + fenced("```python", $0), nil)
        }
        add("full script, then a usage snippet") {
            (plan + fenced("```python", $0) + "\n\nTo inspect it:\n\n" + fenced("```python", snippet), nil)
        }
        add("bash install block first") {
            (fenced("```bash", "pip install pandas scikit-learn") + "\n\n" + plan + fenced("```python", $0), nil)
        }
        add("output block after the script") {
            (plan + fenced("```python", $0) + "\n\nExpected output:\n\n" + fenced("```text", "Validation metric: 0.5\n" + String(repeating: "fold ok\n", count: 200)), nil)
        }
        add("json block and python block") {
            (fenced("```json", "{\"model\": \"linear\", \"folds\": 5}") + "\n" + plan + fenced("```python", $0), nil)
        }
        add("empty python block, then the script") { (fenced("```python", "") + "\n" + plan + fenced("```python", $0), nil) }
        add("shell block untagged, script untagged") {
            (fenced("```", "pip install --upgrade scikit-learn numpy pandas scipy lightgbm xgboost catboost") + "\n" + plan + fenced("```", $0), nil)
        }
        add("tagged script beats a larger untagged listing") {
            (plan + fenced("```python", $0) + "\n\nData sample:\n" + fenced("```", "id,x,y\n" + String(repeating: "1,0.25,1.5\n", count: 300)), nil)
        }
        add("complete script, then a revision cut off mid-line") {
            (plan + fenced("```python", $0) + "\n\nA revised version:\n\n```python\n# revised\n" + $0 + "\n# more\nprint(\"Valid", nil)
        }
        add("answer cut after the code, fence never closed") { (plan + "```python\n" + $0 + "\n", nil) }
        add("cut answer with CRLF") { ((plan + "```python\n" + $0).replacingOccurrences(of: "\n", with: "\r\n"), nil) }
        add("bare code, no fence") { ($0 + "\n", nil) }
        add("fence opened after leading blank lines and spaces") { ("\n\n  \n" + plan + "  ```python\n" + indented($0, by: "  ") + "\n  ```", nil) }
        return shapes
    }()

    /// Shapes that hold no usable code: the step must ask again.
    public static let unusable: [Shape] = [
        Shape(name: "prose only", answer: "I would fit a linear model on x and predict y.", code: nil),
        Shape(name: "only a bash block", answer: "Install:\n```bash\npip install pandas\n```", code: nil),
        Shape(name: "python block that does not compile", answer: "Plan.\n```python\ndef f(:\n    pass\n```", code: nil),
        Shape(name: "empty python block", answer: "Plan.\n```python\n\n```", code: nil),
        Shape(name: "cut inside the first line of code", answer: "Plan.\n```python\nprint(\"Valid", code: nil),
        Shape(name: "only a text block", answer: "```text\nValidation metric: 0.5\n```", code: nil),
    ]

    /// Every shape.
    public static var all: [Shape] { runnable + unusable }
}
