import Foundation

// `aide report <run> --format html`: one self-contained page (CSS and JS inline, nothing fetched)
// with the summary, the tree (click a node for its plan, code, output and review) and charts of
// the metrics journal. The page embeds two JSON blobs in `<script type="application/json">`:
// `aide-report` (the run's aide.report/1 JSON plus a `steps` array of metrics rows) and
// `aide-details` (plan, code, output, review per node, parsed only when a node is first opened).
// In both, every `<` is written `\u003c`, so no text from a run can close the script element.

public enum HTMLReport {
    /// One metrics row: what the run had reached after a step.
    struct StepRow: Encodable {
        var step: Int
        var bestMetric: Double?
        var bestTestScore: Double?
        var inputTokens: Int
        var outputTokens: Int
        var costUSD: Double
        var elapsed: Double
        var nodes: Int
        var buggyNodes: Int

        enum CodingKeys: String, CodingKey {
            case step, elapsed, nodes
            case bestMetric = "best_metric"
            case bestTestScore = "best_test_score"
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case costUSD = "cost_usd"
            case buggyNodes = "buggy_nodes"
        }
    }

    /// What the page's JS reads at load: the report and the metrics journal.
    struct PageData: Encodable {
        var report: RunReport
        var steps: [StepRow]
    }

    /// One node's long texts; optional fields are left out when absent.
    struct Detail: Encodable {
        var plan: String
        var code: String
        var output: String?
        var exitCode: Int32?
        var signal: Int32?
        var timedOut: Bool?
        var exceptionType: String?
        var review: NodeDetail.ReviewInfo?
        var metricSource: String?
        var debugDepth: Int
        var error: String?

        enum CodingKeys: String, CodingKey {
            case plan, code, output, signal, review, error
            case exitCode = "exit_code"
            case timedOut = "timed_out"
            case exceptionType = "exception_type"
            case metricSource = "metric_source"
            case debugDepth = "debug_depth"
        }
    }

    /// Reads the store in one transaction and renders the page; failures are one-line `ReportError`s.
    public static func load(_ store: RunStore) throws -> String {
        let snapshot: RunSnapshot
        do {
            snapshot = try store.snapshot()
        } catch {
            throw ReportError(RunReport.oneLine(error))
        }
        let report = try RunReport(snapshot: snapshot, path: store.path.path)
        return try render(report, snapshot: snapshot)
    }

    /// The page of `report`; with the snapshot it was made from, node details and the metrics
    /// journal are embedded too (without, the page shows the tree and summary only).
    public static func render(_ report: RunReport, snapshot: RunSnapshot? = nil) throws -> String {
        let steps = (snapshot?.metrics ?? []).map { row in
            StepRow(
                step: row.step, bestMetric: finite(row.bestMetric), bestTestScore: finite(row.bestTestScore),
                inputTokens: row.inputTokens, outputTokens: row.outputTokens, costUSD: finite(row.costUSD) ?? 0,
                elapsed: finite(row.elapsed) ?? 0, nodes: row.nodes, buggyNodes: row.buggyNodes)
        }
        var details: [String: Detail] = [:]
        for node in snapshot?.nodes ?? [] {
            details[node.id] = Detail(
                plan: node.plan, code: node.code, output: node.execution?.output, exitCode: node.execution?.exitCode,
                signal: node.execution?.signal, timedOut: node.execution?.timedOut,
                exceptionType: node.execution?.exceptionType,
                review: node.review.map { NodeDetail.ReviewInfo(isBug: $0.isBug, summary: $0.summary, metric: finite($0.metric)) },
                metricSource: node.metricSource, debugDepth: node.debugDepth, error: node.error)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data = try scriptSafe(encoder.encode(PageData(report: report, steps: steps)))
        let detailJSON = try scriptSafe(encoder.encode(details))
        let title = escape("aide · \(report.run.task) · \(report.run.id)")
        // Concatenated, not substituted, so no text from the run is ever read as a placeholder.
        let parts: [String] = [
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
            "<title>", title, "</title>\n<style>\n", HTMLTemplate.css, "</style>\n</head>\n<body>\n",
            HTMLTemplate.body,
            "<script type=\"application/json\" id=\"aide-report\">", data, "</script>\n",
            "<script type=\"application/json\" id=\"aide-details\">", detailJSON, "</script>\n",
            "<script>\n", HTMLTemplate.script, "</script>\n</body>\n</html>\n",
        ]
        return parts.joined()
    }

    /// JSON text safe inside a `<script>` element: `<` only occurs inside JSON strings, where
    /// `\u003c` reads back the same, and without it no `</script` or `<!--` can appear.
    /// One pass over the bytes (a run embeds megabytes of code and output): `<` and the two
    /// JavaScript line separators U+2028, U+2029 (UTF-8 E2 80 A8 / A9) become escapes.
    static func scriptSafe(_ json: Data) -> String {
        var out = [UInt8]()
        out.reserveCapacity(json.count + json.count / 64)
        let escapeLT = Array("\\u003c".utf8)
        json.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == 0x3C {
                    out.append(contentsOf: escapeLT)
                } else if byte == 0xE2, index + 2 < bytes.count, bytes[index + 1] == 0x80,
                    bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9
                {
                    out.append(contentsOf: Array((bytes[index + 2] == 0xA8 ? "\\u2028" : "\\u2029").utf8))
                    index += 2
                } else {
                    out.append(byte)
                }
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Text safe in HTML content and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
