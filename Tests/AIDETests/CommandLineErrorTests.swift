import AIDETesting
import Foundation
import Testing

/// `aide` prints every error as one line worded by `ErrorText.commandLine` (the library's facts named
/// by their flags), and leaves ArgumentParser's own output (help, usage) as it is.
struct CommandLineErrorTests {
    @Test func helpIsPrintedAsHelp() async throws {
        for arguments in [["--help"], ["run", "--help"], ["report", "--help"]] {
            let result = try await CommandRunner.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(result.stdout.hasPrefix("OVERVIEW:"), "\(arguments): \(result.stdout.prefix(200))")
            #expect(!result.stderr.contains("CommandError"))
        }
    }

    @Test func aFactFromTheCommandLineIsNamedByItsFlag() async throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("aide-none-\(UUID().uuidString)").path
        let result = try await CommandRunner.run(["report", "--runs-dir", missing])
        #expect(result.status == 1)
        #expect(result.stderr == "Error: no runs folder \(missing) (choose one with --runs-dir)\n")
        // The bench's own fact (`BenchError.seedOverride`), named by the flags that gave it.
        let bench = try await CommandRunner.run(["bench", "tasks/x/task.yaml", "--set", "search.seed=3"])
        #expect(bench.status == 1)
        #expect(bench.stderr == "Error: --set search.seed=3: the bench sets search.seed for each case; use --seeds\n")
    }
}
