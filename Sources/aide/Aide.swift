import AIDE
import ArgumentParser

@main
struct Aide: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aide",
        abstract: "Search for ML solutions with an LLM: draft, run, debug and improve scripts.",
        version: AIDEVersion.current,
        subcommands: [
            RunCommand.self, InitCommand.self, QueryCommand.self, ModelsCommand.self, ReportCommand.self, BenchCommand.self,
            ServeCommand.self, PreviewCommand.self, AidemlCommand.self,
        ],
        defaultSubcommand: AidemlCommand.self
    )
}
