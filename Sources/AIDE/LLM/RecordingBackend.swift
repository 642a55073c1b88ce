import Foundation

/// Wraps any backend and appends every completed exchange to a cassette: the request (model,
/// prompts, function, options) and the full result. Failed calls are recorded too, as their error
/// message, so a replay fails (or falls back on the output) exactly where the recorded run did.
/// Cancelled calls are not recorded. Keys and headers are never seen here, so never written.
public struct RecordingBackend: Backend {
    public let inner: any Backend
    public let writer: CassetteWriter
    /// Written on every entry (`<task> seed <seed>`), to tell apart runs recorded into one file.
    public let session: String?

    public init(_ inner: any Backend, writer: CassetteWriter, session: String?) {
        self.inner = inner
        self.writer = writer
        self.session = session
    }

    public func query(
        system: String?, user: String?, funcSpec: FunctionSpec?, options: ModelOptions, observer: StreamObserver?
    ) async throws -> QueryResult {
        let request = CassetteRequest(system: system, user: user, funcSpec: funcSpec, options: options)
        let result: QueryResult
        do {
            result = try await inner.query(system: system, user: user, funcSpec: funcSpec, options: options, observer: observer)
        } catch {
            if error is CancellationError || Task.isCancelled { throw error }
            let provider = (error as? LLMError)?.provider ?? (error as? RecordedFailure)?.provider
            try writer.append(CassetteEntry(
                session: session, request: request, result: nil,
                error: RecordedFailure(message: "\(error)", provider: provider)))
            throw error
        }
        try writer.append(CassetteEntry(session: session, request: request, result: result))
        return result
    }
}
