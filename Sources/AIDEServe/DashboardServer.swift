import AIDE
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// `aide serve`: the dashboard of a runs folder over HTTP, read-only.
public struct DashboardServer: Sendable {
    public let options: ServeOptions
    let folder: RunsFolder
    let feeds: RunFeeds

    /// Checks the folder; `options` must be `validated()`.
    public init(options: ServeOptions, pollInterval: Duration = .milliseconds(200)) throws {
        self.options = options
        folder = try RunsFolder(options.runsDirectory)
        feeds = RunFeeds(interval: pollInterval)
    }

    /// The URL to open, with the token when there is one.
    public func url(port: Int) -> String {
        let host = options.host.contains(":") ? "[\(options.host)]" : options.host
        return "http://\(host):\(port)/" + (options.token.map { "?token=\($0)" } ?? "")
    }

    /// The Hummingbird application; `onReady` gets the port it listens on.
    public func application(onReady: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        var logger = Logger(label: "aide.serve")
        // What goes wrong is answered to the request or thrown from `run`; the server itself stays quiet.
        logger.logLevel = .critical
        let responder = DashboardResponder(
            folder: folder, access: AccessRule(boundTo: options.host, token: options.token), feeds: feeds)
        var application = Application(
            responder: responder,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: nil),
            onServerRunning: { channel in await onReady(channel.localAddress?.port ?? 0) },
            logger: logger)
        application.addServices(FeedCloser(feeds: feeds))
        return application
    }

    /// Serves until SIGINT or SIGTERM.
    public func run(onReady: @escaping @Sendable (Int) async -> Void) async throws {
        try await application(onReady: onReady).runService()
    }
}

/// Ends the event streams when shutdown begins, so open pages do not hold the server up.
struct FeedCloser: Service {
    let feeds: RunFeeds

    func run() async throws {
        try? await gracefulShutdown()
        await feeds.close()
    }
}
