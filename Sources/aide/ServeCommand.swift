import AIDE
import AIDEServe
import ArgumentParser
import Foundation

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Watch runs and benches in the browser, live: the runs list, each run's tree as it grows, comparisons.",
        discussion: """
            Read-only: the pages never change a run, and read each run.sqlite without holding up its writer. \
            Serves until Ctrl-C. On an address other than 127.0.0.1 every request needs the token \
            (--token, or one is made up and printed with the URL). The JSON API is in docs/SERVE_API.md.

            Examples:
              aide serve                          # runs/ on http://127.0.0.1:8765/
              aide serve runs --port 9000
              aide serve runs --host 0.0.0.0 --token "$(openssl rand -hex 16)"
            """
    )

    @Argument(help: ArgumentHelp("The folder of runs and benches to show.", valueName: "runs-dir"))
    var runsDir: String = "runs"

    @Option(help: "The port to listen on (0: any free port).")
    var port: Int = ServeOptions.defaultPort

    @Option(help: "The address to listen on. Anything but loopback needs a token.")
    var host: String = "127.0.0.1"

    @Option(help: "A secret every request must carry (?token=… once in the browser, or Authorization: Bearer …).")
    var token: String?

    func run() async throws {
        do {
            let (options, generated) = try ServeOptions(
                runsDirectory: URL(fileURLWithPath: runsDir, isDirectory: true), host: host, port: port, token: token
            ).validated()
            let server = try DashboardServer(options: options)
            try await server.run { port in
                if generated {
                    FileHandle.standardError.write(Data("no --token given for \(options.host): generated one; every request must carry it\n".utf8))
                }
                // Written at once (not buffered): scripts wait for this line to know the server is up.
                FileHandle.standardOutput.write(
                    Data("aide serve: \(server.options.runsDirectory.path) on \(server.url(port: port))  (Ctrl-C stops)\n".utf8))
            }
        } catch let error as ServeError {
            FileHandle.standardError.write(Data("Error: \(error.description)\n".utf8))
            throw ExitCode.failure
        } catch {
            // Binding fails with NIO's text (address in use, cannot assign the address).
            FileHandle.standardError.write(Data("Error: cannot serve on \(host):\(port): \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
