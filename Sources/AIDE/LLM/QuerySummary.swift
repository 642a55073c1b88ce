import Foundation

extension QueryResult {
    /// One line for a terminal: latency, tokens, cost, model, finish reason and attempts.
    public var summaryLine: String {
        var parts = [String(format: "%.2f s", latency)]
        if info.attempts > 1 { parts[0] += String(format: " (%d attempts, last %.2f s)", info.attempts, lastAttemptLatency) }
        var tokens = "\(usage.input) in / \(usage.output) out tokens"
        var extras: [String] = []
        if let read = usage.cacheRead, read > 0 { extras.append("\(read) cache read") }
        if let write = usage.cacheWrite, write > 0 { extras.append("\(write) cache write") }
        if let reasoning = usage.reasoning, reasoning > 0 { extras.append("\(reasoning) reasoning") }
        if !extras.isEmpty { tokens += " (" + extras.joined(separator: ", ") + ")" }
        parts.append(tokens)
        parts.append(costUSD.map { String(format: "$%.6f", $0) } ?? "cost unknown (model not in table)")
        parts.append("\(info.provider)/\(info.model ?? "?")")
        parts.append("finish: \(info.finishReason?.rawValue ?? info.stopReason ?? "?")")
        if !info.droppedOptions.isEmpty { parts.append("not sent: " + info.droppedOptions.joined(separator: ", ")) }
        return parts.joined(separator: " · ")
    }

    /// The output as a user reads it: the text, or the function arguments as indented JSON.
    public var outputText: String {
        switch output {
        case .text(let text):
            return text
        case .functionCall(_, let arguments):
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return (try? encoder.encode(arguments)).map { String(decoding: $0, as: UTF8.self) } ?? arguments.jsonText
        }
    }
}

extension ModelOptions {
    /// Reads `key=value` into `extra`: the value as JSON when it parses, else as a string.
    public mutating func addExtra(_ assignment: String) throws {
        guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
            throw LLMError.invalidOptions(.extraNotKeyValue(assignment))
        }
        let key = String(assignment[..<equals])
        let text = String(assignment[assignment.index(after: equals)...])
        extra[key] = (try? JSONValue.parse(text)) ?? .string(text)
    }
}

extension ModelTable {
    /// The table as aligned text, one model a line.
    public static func listing() -> String {
        let header = ["model", "provider", "context", "max out", "$/M in", "$/M out", "$/M cached", "reasoning"]
        let rows = all.map { spec in
            [
                spec.id, spec.provider.rawValue, "\(spec.contextWindow)", "\(spec.maxOutput)",
                price(spec.inputPrice), price(spec.outputPrice), spec.cacheReadPrice.map(price) ?? "-",
                spec.reasoning ? "yes" : "",
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    private static func price(_ value: Double) -> String {
        String(format: value < 0.1 ? "%.3f" : "%.2f", value)
    }
}
