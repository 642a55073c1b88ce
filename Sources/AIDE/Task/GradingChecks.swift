import Foundation

extension TaskDocument {
    /// The grading section's values: a metric or a command (with its direction), and the columns each needs.
    func checkGrading(_ grading: GradingSpec, _ check: ValueCheck) throws {
        if let command = grading.command {
            try check(grading.metric == nil, .metricAndCommand)
            try check.notBlank(command, "grading.command")
            try check(grading.direction != nil, .commandWithoutDirection)
            return
        }
        try check.notBlank(grading.idColumn, "grading.id_column")
        if grading.metric?.isWide == true {
            if let columns = grading.targetColumns {
                try check(!columns.isEmpty, .noColumns(key: ["grading", "target_columns"]))
                try check(!columns.contains(where: ValueCheck.blank), .unnamed(key: ["grading", "target_columns"], .column))
            }
        } else {
            try check.notBlank(grading.targetColumn, "grading.target_column")
        }
    }
}
