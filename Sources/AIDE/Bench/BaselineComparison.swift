import Foundation

/// How far a task's mean score may move the wrong way before it counts as a regression: absolute,
/// in the metric's own units (`0.005`), or relative to the baseline's value (`2%`).
public struct BaselineTolerance: Sendable, Codable, Hashable, CustomStringConvertible {
    public var value: Double
    public var relative: Bool

    public init(value: Double = 0, relative: Bool = false) {
        self.value = value
        self.relative = relative
    }

    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let relative = trimmed.hasSuffix("%")
        guard let number = Double(relative ? String(trimmed.dropLast()) : trimmed), number.isFinite, number >= 0 else {
            throw BenchError.tolerance(text)
        }
        self.init(value: relative ? number / 100 : number, relative: relative)
    }

    /// The allowed change from `baseline`.
    public func allowance(from baseline: Double) -> Double {
        relative ? value * abs(baseline) : value
    }

    public var description: String {
        relative ? "\(BenchFormat.number(value * 100))%" : BenchFormat.number(value)
    }
}

/// A bench's per-task mean scores against an earlier bench's summary.json. The measure is the
/// test score where the baseline has one, else the agent's metric; its direction (the grading
/// metric's, or the task's) says which way is worse.
public struct BaselineComparison: Sendable, Codable, Hashable {
    /// The baseline file, as given.
    public var file: String
    public var tolerance: BaselineTolerance
    /// One per task of the baseline, in its order.
    public var tasks: [Row]

    public struct Row: Sendable, Codable, Hashable {
        public var task: String
        /// "test score" or "metric".
        public var measure: String
        /// The metric's name (`rmse_log`, or the agent's metric name).
        public var metricName: String
        public var direction: MetricDirection
        @Nullable public var current: Double?
        @Nullable public var baseline: Double?
        public var regressed: Bool
        /// One line, e.g. `house-prices: test score 0.152 vs baseline 0.140 (rmse_log, lower is better; tolerance 0.005)`.
        public var message: String

        enum CodingKeys: String, CodingKey {
            case task, measure, direction, current, baseline, regressed, message
            case metricName = "metric_name"
        }
    }

    public var regressions: [Row] { tasks.filter(\.regressed) }

    /// The part of summary.json a comparison reads; anything else in the file may change.
    struct BaselineFile: Decodable {
        var schema: String
        var tasks: [Task]

        struct Task: Decodable {
            var task: String
            var metricName: String?
            var direction: MetricDirection
            var gradingMetric: GradingMetric?
            var testScore: Mean
            var metric: Mean

            enum CodingKeys: String, CodingKey {
                case task, direction, metric
                case metricName = "metric_name"
                case gradingMetric = "grading_metric"
                case testScore = "test_score"
            }
        }

        struct Mean: Decodable {
            var mean: Double?
        }
    }

    /// Reads `file` (a bench's summary.json) and compares `summary` with it.
    public static func compare(_ summary: BenchSummary, baselineFile file: String, tolerance: BaselineTolerance) throws -> BaselineComparison {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw BenchError.unreadableBaseline(file: file, reason: ErrorText.reason(error))
        }
        let baseline: BaselineFile
        do {
            baseline = try JSONDecoder().decode(BaselineFile.self, from: data)
        } catch {
            throw BenchError.notASummary(file: file, reason: RunReport.oneLine(error))
        }
        guard baseline.schema == BenchSummary.schemaName else {
            throw BenchError.baselineSchema(file: file, schema: baseline.schema)
        }
        var rows: [Row] = []
        for old in baseline.tasks {
            guard let now = summary.task(old.task) else { continue }
            let byTestScore = old.testScore.mean != nil
            let measure = byTestScore ? "test score" : "metric"
            let direction = byTestScore ? (old.gradingMetric?.direction ?? old.direction) : old.direction
            let nowDirection = byTestScore ? (now.testDirection ?? now.direction) : now.direction
            guard direction == nowDirection else {
                throw BenchError.oppositeDirections(task: old.task, measure: measure, baselineMinimizes: direction == .minimize)
            }
            let metricName = byTestScore ? (old.gradingMetric?.rawValue ?? now.gradingMetric?.rawValue ?? "test score") : (old.metricName ?? now.metricName)
            let baselineValue = byTestScore ? old.testScore.mean : old.metric.mean
            let currentValue = byTestScore ? now.testScore.mean : now.metric.mean
            let way = direction == .minimize ? "lower is better" : "higher is better"
            let context = "(\(metricName), \(way); tolerance \(tolerance))"
            guard let baselineValue else {
                rows.append(Row(
                    task: old.task, measure: measure, metricName: metricName, direction: direction, current: currentValue,
                    baseline: nil, regressed: false, message: "\(old.task): no \(measure) in the baseline; nothing to compare"))
                continue
            }
            guard let currentValue else {
                rows.append(Row(
                    task: old.task, measure: measure, metricName: metricName, direction: direction, current: nil,
                    baseline: baselineValue, regressed: true,
                    message: "\(old.task): no \(measure) (no valid submission) vs baseline \(BenchFormat.number(baselineValue)) \(context)"))
                continue
            }
            let allowance = tolerance.allowance(from: baselineValue)
            let regressed = direction == .minimize ? currentValue > baselineValue + allowance : currentValue < baselineValue - allowance
            rows.append(Row(
                task: old.task, measure: measure, metricName: metricName, direction: direction, current: currentValue,
                baseline: baselineValue, regressed: regressed,
                message: "\(old.task): \(measure) \(BenchFormat.number(currentValue)) vs baseline \(BenchFormat.number(baselineValue)) \(context)"))
        }
        return BaselineComparison(file: file, tolerance: tolerance, tasks: rows)
    }
}

/// Numbers as the bench prints them: up to four significant digits, no exponent for usual sizes.
public enum BenchFormat {
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        if value == value.rounded(), abs(value) < 1e9 { return String(Int(value)) }
        let magnitude = abs(value)
        if magnitude >= 1e-4 && magnitude < 1e9 {
            let digits = max(0, 3 - Int(floor(log10(magnitude))))
            var text = String(format: "%.\(digits)f", value)
            if text.contains(".") {
                while text.hasSuffix("0") { text.removeLast() }
                if text.hasSuffix(".") { text.removeLast() }
            }
            return text
        }
        return String(format: "%.3e", value)
    }

    public static func percent(_ rate: Double?) -> String {
        rate.map { "\(Int(($0 * 100).rounded()))%" } ?? "–"
    }

    public static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.1f s", seconds) }
        if seconds < 3600 { return String(format: "%d min %02d s", Int(seconds) / 60, Int(seconds) % 60) }
        return String(format: "%d h %02d min", Int(seconds) / 3600, Int(seconds) % 3600 / 60)
    }

    public static func tokens(_ count: Double) -> String {
        if count >= 1e6 { return String(format: "%.2fM", count / 1e6) }
        if count >= 1e3 { return String(format: "%.1fk", count / 1e3) }
        return String(Int(count.rounded()))
    }
}
