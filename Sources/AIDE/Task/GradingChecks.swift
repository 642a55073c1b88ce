import Foundation

extension TaskDocument {
    /// The grading section's values: a metric or a command (with its direction), and the columns each needs.
    func checkGrading(_ grading: GradingSpec, _ check: (Bool, String, String) throws -> Void) throws {
        func blank(_ text: String) -> Bool { text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        if let command = grading.command {
            try check(grading.metric == nil, "grading.command", "give a metric or a command, not both")
            try check(!blank(command), "grading.command", "must not be empty")
            try check(
                grading.direction != nil, "grading.direction",
                "a grading command needs direction: minimize or maximize (which way its score is better)")
            return
        }
        try check(!blank(grading.idColumn), "grading.id_column", "must not be empty")
        if grading.metric?.isWide == true {
            if let columns = grading.targetColumns {
                try check(!columns.isEmpty, "grading.target_columns", "must name at least one column")
                try check(!columns.contains(where: blank), "grading.target_columns", "must not hold an empty name")
            }
        } else {
            try check(!blank(grading.targetColumn), "grading.target_column", "must not be empty")
        }
    }
}
