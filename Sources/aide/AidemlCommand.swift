import AIDE
import ArgumentParser
import Foundation

/// aideml's command line as is: `aide data_dir=… goal=… eval=… [agent.steps=20] …` runs a search,
/// as `aide run --data … --goal … --eval …` would. Flags of `aide run` may follow.
struct AidemlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aideml",
        abstract: "aideml's command line: aide data_dir=DIR goal=\"…\" eval=\"…\" [agent.steps=20] …",
        discussion: """
            Keys: data_dir, goal, eval, desc_file, exp_name, agent.steps, agent.time_limit, agent.code.model, \
            agent.code.temp, agent.feedback.model, agent.feedback.temp, agent.search.num_drafts, \
            agent.search.debug_prob, agent.search.max_debug_depth, exec.timeout, and any task.yaml key \
            (metric.direction=minimize, exec.python=…). Flags of `aide run` (--scripted, --replay, --runs-dir, …) \
            may follow. The inferred task.yaml is printed and saved in the run folder.

            Example:
              aide data_dir=tasks/house-prices/data goal="Predict the sales price for each house" \\
                eval="Use the RMSE metric between the logarithm of the predicted and observed values."
            """,
        shouldDisplay: false
    )

    @Argument(parsing: .captureForPassthrough, help: "key=value settings, then any flags of aide run.")
    var arguments: [String] = []

    func run() async throws {
        if arguments.isEmpty { throw CleanExit.helpRequest(Aide.self) }
        let settings = arguments.prefix { !$0.hasPrefix("-") }
        let flags = Array(arguments.dropFirst(settings.count))
        if let first = settings.first, !first.contains("=") {
            throw ValidationError(
                "unknown command \"\(first)\"; commands: run, init, report, bench, serve, query, models, or aideml's key=value form")
        }
        let config = try AidemlConfig(Array(settings))
        for item in config.ignored {
            FileHandle.standardError.write(Data("note: \(item) has no counterpart here; ignored\n".utf8))
        }
        var translated = ["--data", config.dataDirectory!]
        if let goal = config.goal { translated += ["--goal", goal] }
        if let eval = config.eval { translated += ["--eval", eval] }
        if let file = config.descriptionFile { translated += ["--desc-file", file] }
        if let name = config.name { translated += ["--name", name] }
        for override in config.overrides { translated += ["--set", override] }
        let command = try RunCommand.parse(translated + flags)
        do {
            try await command.search()
        } catch let error as InferredTaskError {
            throw error.exit(aidemlKeys: true)
        }
    }
}
