import AIDE
import ArgumentParser
import Foundation

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Show runs: list them, summarize one as a tree, show a node, print the best code, compare runs.",
        discussion: """
            Reads run.sqlite read-only: safe while the run is still going (it shows what is committed). \
            A run is named by its id (under --runs-dir), its folder, or its run.sqlite.

            Examples:
              aide report                                   # every run under runs/
              aide report house-prices-20261121-101500-3f2a9c1b
              aide report runs/<run> --node 1a2b            # one node (id or prefix)
              aide report runs/<run> --best > solution.py   # only the best solution's code
              aide report runs/<run> --format markdown -o summary.md
              aide report runs/<run> --format html -o report.html   # one page: tree, code, charts
              aide report --compare <run> <run> --format json
              aide report runs/<run> --export-aide journal.json   # AIDE's journal format
            """
    )

    @Argument(help: ArgumentHelp(
        "The run: its id, its folder, or its run.sqlite. Without one, every run under --runs-dir is listed.",
        valueName: "run"))
    var reference: String?

    @Option(help: "Show one node: its id or a unique prefix of it.")
    var node: String?

    @Flag(help: "Print only the best node's code (an error when no node is good).")
    var best = false

    @Option(help: "text, markdown, json or html (html: one run, as a self-contained page).")
    var format: ReportFormat = .text

    @Option(name: [.customShort("o"), .customLong("output")], help: "Write the report to this file instead of standard output.")
    var output: String?

    @Option(parsing: .upToNextOption, help: "Compare these runs (ids, folders or run.sqlite files).")
    var compare: [String] = []

    @Option(help: "Write the run as an AIDE journal (WecoAI aideml's format) to this file.")
    var exportAide: String?

    @Option(help: "Where runs are.")
    var runsDir: String = "runs"

    func validate() throws {
        if format == .html, reference == nil || node != nil || !compare.isEmpty {
            throw ValidationError("--format html shows one run: give a run, and no --node or --compare")
        }
        if !compare.isEmpty {
            if reference != nil || node != nil || best { throw ValidationError("--compare takes the runs itself; give no other run, --node or --best") }
            if compare.count < 2 { throw ValidationError("--compare needs at least two runs") }
        }
        if exportAide != nil, reference == nil || node != nil || best || !compare.isEmpty {
            throw ValidationError("--export-aide takes one run, and no --node, --best or --compare")
        }
        if node != nil || best {
            if reference == nil { throw ValidationError("--node and --best need a run") }
            if node != nil && best { throw ValidationError("give --node or --best, not both") }
        }
    }

    func run() throws {
        if format == .html, let reference, node == nil, !best, exportAide == nil, compare.isEmpty {
            return try writePage(of: reference)
        }
        try write(Data(try renderText().utf8))
    }

    /// The HTML page, written out as it is made: its tens of megabytes are never held whole.
    private func writePage(of reference: String) throws {
        let store = try RunReport.openStore(reference, runsDirectory: URL(fileURLWithPath: runsDir, isDirectory: true))
        defer { try? store.close() }
        let nodeCommand: HTMLReport.NodeCommand = { "aide report \($0) --node \($1)" }
        do {
            if let output {
                try OutputFile.write(to: output) { part in try HTMLReport.write(store, nodeCommand: nodeCommand, to: part) }
            } else {
                try HTMLReport.write(store, nodeCommand: nodeCommand) { try OutputFile.write($0, to: STDOUT_FILENO) }
            }
        } catch let error as OutputFile.WriteError {
            throw CommandLineError(description: "cannot write \(output ?? "standard output"): \(ErrorText.reason(error.underlying))")
        }
    }

    private func renderText() throws -> String {
        let runsDirectory = URL(fileURLWithPath: runsDir, isDirectory: true)
        let color = output == nil && format == .text && isatty(STDOUT_FILENO) == 1
        if !compare.isEmpty {
            let reports = try compare.map { try RunReport.load($0, runsDirectory: runsDirectory).report }
            return try ReportRenderer.render(RunComparison(reports: reports), format: format, color: color)
        }
        guard let reference else {
            return try ReportRenderer.render(try RunListing.load(runsDirectory: runsDirectory), format: format, color: color)
        }
        let store = try RunReport.openStore(reference, runsDirectory: runsDirectory)
        defer { try? store.close() }
        if let exportAide {
            do {
                try OutputFile.write(AIDEJournalExport.export(store), to: exportAide)
            } catch {
                throw CommandLineError(description: "cannot export \(reference) to \(exportAide): \(ErrorText.line(error))")
            }
            return ""
        }
        if best {
            let code = try RunReport.bestCode(store)
            return code.hasSuffix("\n") || code.isEmpty ? code : code + "\n"
        }
        if let node {
            return try ReportRenderer.render(try NodeDetail.load(store, node: node), format: format, color: color)
        }
        let report: RunReport
        do {
            report = try RunReport.load(store)
        } catch let error as ReportError {
            throw error
        } catch {
            throw CommandLineError(description: "\(store.path.path): \(ErrorText.line(error))")
        }
        return try ReportRenderer.render(report, format: format, color: color)
    }

    private func write(_ data: Data) throws {
        guard let output else {
            FileHandle.standardOutput.write(data)
            return
        }
        do {
            try OutputFile.write(data, to: output)
        } catch {
            throw CommandLineError(description: "cannot write \(output): \(ErrorText.reason(error))")
        }
    }
}

extension ReportFormat: ExpressibleByArgument {}
