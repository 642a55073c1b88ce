import Foundation

// The HTML report of a run: one self-contained page (CSS and JS inline, nothing fetched)
// with the summary, the tree (click a node for its plan, code, output and review) and charts of
// the metrics journal. The page embeds two JSON blobs in `<script type="application/json">`:
// `aide-details` (each node's `NodeView.Body`, its output cut to its head and tail, parsed only
// when a node is first opened) and `aide-report` (the run's aide.report/1 JSON plus a `steps`
// array of metrics rows). The details come first: each node is read once, written out, and kept
// in summary for the report after them. Both are the Codable values of the JSON reports, written by
// `JSONWriter.encode` (quick for tens of megabytes).
// In both, every `<` is written `\u003c`, so no text from a run can close the script element.

public enum HTMLReport {
    /// Bytes of a node's output the page keeps from its start, and from its end; the rest is cut
    /// (with a marker saying how much, and where the whole output is), so a 10,000-node page
    /// stays light. Code and plan are kept whole.
    static let outputHead = 2_048
    static let outputTail = 2_048

    /// The command that shows one node whole, given the run and node ids; supplied by the CLI (the
    /// library spells no flag), named on the page where a node's output is cut.
    public typealias NodeCommand = @Sendable (_ run: String, _ node: String) -> String

    /// Reads the store in one transaction and renders the page; failures are one-line `ReportError`s.
    public static func load(_ store: RunStore) throws -> String {
        String(decoding: try page(store), as: UTF8.self)
    }

    /// `load` as UTF-8 bytes. `liveScript` (from `aide serve`) runs after the viewer's own
    /// script, which it drives through `window.aideViewer.update` (see `update(_:range:)`).
    /// `nodeCommand` names where a cut output is whole.
    public static func page(_ store: RunStore, liveScript: String? = nil, nodeCommand: NodeCommand? = nil) throws -> [UInt8] {
        // Reserving one and a half times the database's size (pages run to about 1.15 times it,
        // the escapes and keys) costs no memory until written, and spares regrowing: a copy of
        // the whole page and its page faults.
        let size = (try? FileManager.default.attributesOfItem(atPath: store.path.path)[.size] as? NSNumber)?.intValue ?? 0
        var page = JSONWriter(scriptSafe: true, capacity: size + size / 2 + (1 << 20))
        try write(store, liveScript: liveScript, nodeCommand: nodeCommand, into: &page) { _ in }
        return page.bytes
    }

    /// The page handed to `output` in parts of about `part` bytes as it is written (for a file:
    /// `OutputFile.write(to:_:)`), so a page of tens of megabytes is never held whole. Failures
    /// of `output` are thrown as they are; failures to read the store are `ReportError`s.
    public static func write(
        _ store: RunStore, nodeCommand: NodeCommand? = nil, part: Int = 1 << 20,
        to output: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var page = JSONWriter(scriptSafe: true, capacity: part + part / 2)
        try write(store, liveScript: nil, nodeCommand: nodeCommand, into: &page) { page in
            if page.count >= part { try page.flush(to: output) }
        }
        try page.flush(to: output)
    }

    /// What the reading thread hands the writing one, in page order: the run without its nodes
    /// (for the page's head and the details' calls), nodes, the page's tail; or its failure.
    private enum Part: Sendable {
        case start(RunSnapshot)
        case nodes([Node])
        case tail([UInt8])
        case failed(any Error)
    }

    /// Nodes per `Part.nodes`, and parts that may wait (so a few hundred nodes are read ahead, to
    /// ride out a moment when the writer gets no core).
    private static let batch = 16
    private static let partsAhead = 32

    /// The page into `page`, calling `flush` after each node. Two threads share the work (the
    /// machine's second core): one reads the store (each node's texts as the node is read, so no
    /// more than a few hundred nodes' code and output is held besides the page) and, at the end,
    /// makes the page data; this one makes the head (failing, as the whole report would, before
    /// anything is written) and each node's detail, encodes them into the page and writes it out.
    private static func write(
        _ store: RunStore, liveScript: String?, nodeCommand: NodeCommand?, into page: inout JSONWriter,
        flush: (inout JSONWriter) throws -> Void
    ) throws {
        let parts = Handoff<Part>(capacity: partsAhead)
        Thread.detachNewThread {
            read(store, liveScript: liveScript, to: parts)
        }
        // Returns only once the reader stopped (its transaction ended).
        defer {
            parts.cancel()
            while parts.receive() != nil {}
        }
        var runID = ""
        var calls: [String: [LLMCallRecord]] = [:]
        var first = true
        while let part = parts.receive() {
            switch part {
            case .start(let start):
                // The report without its nodes: fails as the whole one would, before anything is written.
                let report = try RunReport(snapshot: start, path: store.path.path)
                writeHead(report, to: &page)
                runID = report.run.id
                calls = callsByNode(start)
            case .nodes(let nodes):
                for node in nodes {
                    let detail = PageDetail(node, runID: runID, calls: calls[node.id] ?? [], nodeCommand: nodeCommand)
                    try writeDetail(detail, first: first, to: &page)
                    first = false
                    try flush(&page)
                }
            case .tail(let bytes):
                page.raw(json: bytes)
            case .failed(let error):
                throw error
            }
            try flush(&page)
        }
    }

    /// The reading half of `write`: the page's parts in order to `parts`; a failure to read as a
    /// `ReportError` in `.failed`.
    private static func read(_ store: RunStore, liveScript: String?, to parts: Handoff<Part>) {
        struct Cancelled: Error {}
        defer { parts.finish() }
        func send(_ part: Part) throws {
            guard parts.send(part) else { throw Cancelled() }
        }
        var nodes: [Node] = []
        do {
            let snapshot = try store.eachNode { start in
                try send(.start(start))
            } _: { node in
                nodes.append(node)
                if nodes.count == batch {
                    try send(.nodes(nodes))
                    nodes.removeAll(keepingCapacity: true)
                }
            }
            if !nodes.isEmpty { try send(.nodes(nodes)) }
            let report = try RunReport(snapshot: snapshot, path: store.path.path)
            var tail = JSONWriter(scriptSafe: true)
            try writeTail(report, metrics: snapshot.metrics, liveScript: liveScript, to: &tail)
            try send(.tail(tail.bytes))
        } catch is Cancelled {
        } catch let error as ReportError {
            _ = parts.send(.failed(error))
        } catch {
            _ = parts.send(.failed(ReportError.reading(error)))
        }
    }

    /// The page of `report`; with the snapshot it was made from, node details and the metrics
    /// journal are embedded too (without, the page shows the tree and summary only).
    public static func render(_ report: RunReport, snapshot: RunSnapshot? = nil, nodeCommand: NodeCommand? = nil) throws -> String {
        var page = JSONWriter(scriptSafe: true)
        writeHead(report, to: &page)
        if let snapshot {
            let calls = callsByNode(snapshot)
            for (index, node) in snapshot.nodes.enumerated() {
                let detail = PageDetail(node, runID: report.run.id, calls: calls[node.id] ?? [], nodeCommand: nodeCommand)
                try writeDetail(detail, first: index == 0, to: &page)
            }
        }
        try writeTail(report, metrics: snapshot?.metrics ?? [], to: &page)
        return page.text
    }

    static func callsByNode(_ snapshot: RunSnapshot) -> [String: [LLMCallRecord]] {
        var calls: [String: [LLMCallRecord]] = [:]
        for call in snapshot.calls { if let node = call.nodeID { calls[node, default: []].append(call) } }
        return calls
    }

    /// What the page embeds for one node besides its row: its `NodeView.Body` with the output cut
    /// to its head and tail (`outputCut` bytes cut between, nil when whole) and no traceback (the
    /// output holds it), and where the whole output is (`whole_output`, with the cut). Encoded flat.
    struct PageDetail: Encodable {
        /// The node's id: the detail's key in `aide-details`, not a member.
        var id: String
        var outputCut: Int?
        var wholeOutput: String?
        var body: NodeView.Body

        enum CodingKeys: String, CodingKey {
            case outputCut = "output_cut"
            case wholeOutput = "whole_output"
        }

        init(_ node: Node, runID: String, calls: [LLMCallRecord], nodeCommand: NodeCommand? = nil) {
            var body = NodeView.Body(node, calls: calls)
            body.traceback = nil
            if let output = body.output {
                let whole = nodeCommand?(runID, node.id) ?? "node \(node.id) in the run's database"
                let (text, cut) = bounded(output, wholeOutput: whole)
                body.output = text
                outputCut = cut > 0 ? cut : nil
                wholeOutput = cut > 0 ? whole : nil
            }
            self.body = body
            id = node.id
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(outputCut, forKey: .outputCut)
            try container.encodeIfPresent(wholeOutput, forKey: .wholeOutput)
            try body.encode(to: encoder)
        }
    }

    /// `"id":{…}` (after a comma unless first): a node's `PageDetail`.
    static func writeDetail(_ detail: PageDetail, first: Bool, to json: inout JSONWriter) throws {
        if !first { json.raw(",") }
        json.string(detail.id)
        json.raw(":")
        try json.encode(detail)
    }

    /// `output` whole when short; else its first `outputHead` and last `outputTail` bytes (cut
    /// at character boundaries) around a line saying how many bytes were cut and where the whole
    /// output is. Returns the text and the bytes cut (0 when whole).
    static func bounded(_ output: String, wholeOutput: String) -> (text: String, cut: Int) {
        // Cutting less than a marker's length would save nothing.
        guard output.utf8.count > outputHead + outputTail + 200 else { return (output, 0) }
        let utf8 = Array(output.utf8)
        func isContinuation(_ byte: UInt8) -> Bool { byte & 0xC0 == 0x80 }
        var headEnd = outputHead
        while headEnd > 0, isContinuation(utf8[headEnd]) { headEnd -= 1 }
        var tailStart = utf8.count - outputTail
        while tailStart < utf8.count, isContinuation(utf8[tailStart]) { tailStart += 1 }
        let cut = tailStart - headEnd
        let head = String(decoding: utf8[..<headEnd], as: UTF8.self)
        let tail = String(decoding: utf8[tailStart...], as: UTF8.self)
        let marker = "\n… \(cut) bytes cut; the whole output: \(wholeOutput) …\n"
        return (head + (head.hasSuffix("\n") ? String(marker.dropFirst()) : marker) + tail, cut)
    }

    /// The page's data: the run's aide.report/1 JSON and its metrics rows.
    struct PageData: Encodable {
        var report: RunReport
        var steps: [MetricsRecord]
    }

    /// `{"report": <the aide.report/1 JSON>, "steps": [metrics rows]}`, script-safe.
    static func writePageData(_ report: RunReport, metrics: [MetricsRecord], to json: inout JSONWriter) throws {
        try json.encode(PageData(report: report, steps: metrics))
    }

    /// The page up to the opening `{` of the details object: markup and CSS.
    static func writeHead(_ report: RunReport, to page: inout JSONWriter) {
        let title = MarkupText.escape("aide · \(report.run.task) · \(report.run.id)")
        // Concatenated, not substituted, so no text from the run is ever read as a placeholder.
        for part in [
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
            "<title>", title, "</title>\n<style>\n", HTMLTemplate.css, "</style>\n</head>\n<body>\n",
            HTMLTemplate.body, "<script type=\"application/json\" id=\"aide-details\">{",
        ] {
            page.raw(json: part.utf8)
        }
    }

    /// The page after the last node's details: the page data and the viewer's script.
    static func writeTail(
        _ report: RunReport, metrics: [MetricsRecord], liveScript: String? = nil, to page: inout JSONWriter
    ) throws {
        page.raw(json: "}</script>\n<script type=\"application/json\" id=\"aide-report\">".utf8)
        try writePageData(report, metrics: metrics, to: &page)
        page.raw(json: "</script>\n<script>\n".utf8)
        page.raw(json: HTMLTemplate.script.utf8)
        if let liveScript {
            page.raw(json: "</script>\n<script>\n".utf8)
            page.raw(json: liveScript.utf8)
        }
        page.raw(json: "</script>\n</body>\n</html>\n".utf8)
    }
}
