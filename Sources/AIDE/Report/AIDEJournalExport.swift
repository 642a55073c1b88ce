import Foundation

/// Why a run could not be exported as an AIDE journal.
public enum AIDEJournalExportError: Error, CustomStringConvertible, Equatable {
    /// The run file holds no run (so no task spec, so no metric direction).
    case noRun(path: String)
    /// A node names a parent the run does not hold; AIDE's loader would fail on it.
    case danglingParent(nodeID: String, parentID: String)

    public var description: String {
        switch self {
        case .noRun(let path): return "\(path) holds no run"
        case .danglingParent(let nodeID, let parentID): return "node \(nodeID) names parent \(parentID), which the run does not hold"
        }
    }
}

/// A run as the journal file of WecoAI's aideml (`aide/utils/serialize.py`), so tools built for AIDE can
/// read our runs: `aide.utils.serialize.load_json(path, Journal)` loads the result.
///
/// What AIDE's `dumps_json(journal)` writes, and so what this writes:
///
///     {"__version": "2", "node2parent": {child_id: parent_id, …}, "nodes": [node, …]}
///
/// Each node is `Node.to_dict()` after `dumps_json` cut its links: every field of AIDE's `Node`
/// dataclass, `parent` null and `children` empty (the tree lives in `node2parent`, from which
/// `loads_json` rebuilds both), and the terminal output under the field's own name, `_term_out`, as a
/// list of strings. `metric` is a `MetricValue` (`{"maximize": bool, "value": float}`, `maximize` from
/// the task's metric direction); a buggy node gets AIDE's `WorstMetricValue`, `{"maximize": null,
/// "value": null}`, whatever metric it read. Keys are sorted at every level, output is compact.
///
/// Where our nodes and AIDE's differ:
/// - `_term_out` is our captured output cut at line ends (joined, it is the output exactly); AIDE's
///   own trailing "Execution time: …" line is not invented. A node that never ran has `[]`.
/// - `exc_type` is the exception's class name; a timeout is `TimeoutError`, as in AIDE. `exc_info`
///   (`{"args": [message]}`) and `exc_stack` (`[[filename, lineno, name, line], …]`) are read back from
///   the traceback, the script itself named `runfile.py` as in AIDE.
/// - `analysis` is the review's summary, or the harness error when there was no review.
/// - `exec_time` is null for a node that never ran.
public enum AIDEJournalExport {
    /// The version `dumps_json` stamps on a journal (a string, under `__version`).
    public static let formatVersion = "2"

    /// The run in `store` as AIDE journal JSON (UTF-8, compact, keys sorted), ready to write to a file
    /// such as `journal.json`. Nodes come in step order; ids are our node ids.
    ///
    /// Usage, e.g. for an export to journal.json:
    ///
    ///     let store = try RunStore.openReadOnly(path: runFile)
    ///     try AIDEJournalExport.export(store).write(to: URL(fileURLWithPath: "journal.json"))
    ///
    /// Throws `AIDEJournalExportError` when the file holds no run or a node's parent is missing, and
    /// the store's own errors when it cannot be read.
    public static func export(_ store: RunStore) throws -> Data {
        let snapshot = try store.snapshot()
        guard let run = snapshot.run else { throw AIDEJournalExportError.noRun(path: store.path.path) }
        return try export(nodes: snapshot.nodes, direction: try run.spec().metric.direction)
    }

    /// `nodes` (in step order) as AIDE journal JSON, their metrics read in `direction`.
    public static func export(nodes: [Node], direction: MetricDirection) throws -> Data {
        try journal(nodes: nodes, direction: direction).serialized()
    }

    /// The journal as a JSON value (see the type's documentation for the format).
    public static func journal(nodes: [Node], direction: MetricDirection) throws -> JSONValue {
        let ids = Set(nodes.map(\.id))
        var node2parent: [String: JSONValue] = [:]
        for node in nodes {
            guard let parentID = node.parentID else { continue }
            guard ids.contains(parentID) else {
                throw AIDEJournalExportError.danglingParent(nodeID: node.id, parentID: parentID)
            }
            node2parent[node.id] = .string(parentID)
        }
        return .object([
            "nodes": .array(nodes.map { aideNode(NodeView($0, calls: [], onBestPath: false), maximize: direction == .maximize) }),
            "node2parent": .object(node2parent),
            "__version": .string(formatVersion),
        ])
    }

    /// One node (as every report reads it) as AIDE's `Node.to_dict()` writes it once `dumps_json`
    /// has cut its links.
    static func aideNode(_ node: NodeView, maximize: Bool) -> JSONValue {
        let excType = exceptionType(node)
        var excInfo = JSONValue.null
        var excStack = JSONValue.null
        if let excType {
            let (message, frames) = parse(traceback: node.traceback ?? "", type: node.exceptionType)
            if excType == "TimeoutError" && node.exceptionType == nil {
                // AIDE's hard kill after the time limit: no exception object to describe.
                excInfo = .object([:])
                excStack = .array([])
            } else {
                excInfo = .object(["args": .array(message.map { [.string($0)] } ?? [])])
                excStack = .array(frames)
            }
        }
        let analysis = node.review?.summary ?? node.error
        return .object([
            "code": .string(node.code),
            "plan": .string(node.plan),
            "step": .int(node.step),
            "id": .string(node.id),
            "ctime": number(node.createdAt.timeIntervalSince1970),
            "parent": .null,
            "children": .array([]),
            "_term_out": .array(node.output.map { lines(of: $0).map(JSONValue.string) } ?? []),
            "exec_time": node.execTime.map(number) ?? .null,
            "exc_type": excType.map(JSONValue.string) ?? .null,
            "exc_info": excInfo,
            "exc_stack": excStack,
            "analysis": analysis.map(JSONValue.string) ?? .null,
            "metric": metric(node, maximize: maximize),
            "is_buggy": .bool(node.isBuggy),
        ])
    }

    /// AIDE's `MetricValue`; `WorstMetricValue` (both fields null) for a buggy node.
    static func metric(_ node: NodeView, maximize: Bool) -> JSONValue {
        guard !node.isBuggy else { return .object(["value": .null, "maximize": .null]) }
        return .object(["value": node.metric.map(number) ?? .null, "maximize": .bool(maximize)])
    }

    /// AIDE's `exc_type`: the exception's class name, `TimeoutError` for a script stopped at its
    /// time limit (AIDE renames the `KeyboardInterrupt` it sends then).
    /// Nil for a node that never ran.
    static func exceptionType(_ node: NodeView) -> String? {
        if node.timedOut == true && (node.exceptionType == nil || node.exceptionType == "KeyboardInterrupt") {
            return "TimeoutError"
        }
        return node.exceptionType
    }

    /// `text` cut after each line end, so that joining the pieces gives `text` back.
    static func lines(of text: String) -> [String] {
        var result: [String] = []
        var current = ""
        for character in text {
            current.append(character)
            if character.isNewline {
                result.append(current)
                current = ""
            }
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    /// A finite number, or null (JSON has no NaN or infinity).
    static func number(_ value: Double) -> JSONValue {
        value.isFinite ? .double(value) : .null
    }

    /// The exception's message and its frames (`[filename, lineno, name, line]`, as AIDE's
    /// `traceback.extract_tb` tuples) from the last traceback of a chain. The script's own path
    /// becomes `runfile.py`, as AIDE compiles it under that name.
    static func parse(traceback: String, type: String?) -> (message: String?, frames: [JSONValue]) {
        let all = traceback.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.last == "\r" ? String(line.dropLast()) : String(line)
        }
        let start = (all.lastIndex { $0.hasSuffix("Traceback (most recent call last):") }).map { $0 + 1 } ?? 0
        var frames: [JSONValue] = []
        var message: String?
        var index = start
        while index < all.count {
            let line = all[index]
            if let frame = frameHeader(line) {
                var source = ""
                if index + 1 < all.count, frameHeader(all[index + 1]) == nil,
                    all[index + 1].hasPrefix("    ")
                {
                    source = all[index + 1].trimmingCharacters(in: .whitespaces)
                    index += 1
                }
                frames.append(.array([.string(frame.file), .int(frame.line), .string(frame.name), .string(source)]))
            } else if !line.isEmpty, !line.hasPrefix(" "), message == nil, let type {
                // `ValueError: message`, `pkg.mod.Error: message` or a bare `KeyboardInterrupt`.
                let head = line.split(separator: ":", maxSplits: 1).first.map(String.init) ?? line
                if head == type || head.hasSuffix("." + type) {
                    message = line.count > head.count + 1
                        ? String(line.dropFirst(head.count + 1)).trimmingCharacters(in: .whitespaces) : nil
                    break
                }
            }
            index += 1
        }
        return (message, frames)
    }

    /// `  File "path", line 12, in name` → its parts; nil for any other line.
    static func frameHeader(_ line: String) -> (file: String, line: Int, name: String)? {
        let trimmed = line.drop { $0 == " " }
        guard trimmed.hasPrefix("File \""), let close = trimmed.dropFirst(6).firstIndex(of: "\"") else { return nil }
        var file = String(trimmed[trimmed.index(trimmed.startIndex, offsetBy: 6)..<close])
        let rest = trimmed[trimmed.index(after: close)...]
        guard rest.hasPrefix(", line ") else { return nil }
        let afterLine = rest.dropFirst(7)
        let digits = afterLine.prefix { $0.isASCII && $0.isNumber }
        guard let number = Int(digits) else { return nil }
        let tail = afterLine.dropFirst(digits.count)
        let name = tail.hasPrefix(", in ") ? String(tail.dropFirst(5)) : ""
        if file.hasSuffix("/" + PythonInterpreter.scriptName) { file = PythonInterpreter.scriptName }
        return (file, number, name)
    }
}
