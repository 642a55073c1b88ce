import Foundation

/// Builds what a run is made with from its task and options: the backend (live or scripted, under
/// its cassettes), the interpreter with every `exec` limit of the task, the syntax check. The one
/// place the CLI, the bench, tests and benchmarks get a run's dependencies from.
public enum RunAssembly {
    /// The model backend the options ask for, for `task` (its cassette session is named after it).
    public static func backend(for task: LoadedTask, options: RunOptions) throws -> any Backend {
        try options.validate()
        let real: any Backend
        switch options.source {
        case .live(let baseURL):
            // Retries and timeouts are the task's (agent.retry).
            real = ModelRouter(http: HTTPClient(), compatibleBaseURL: baseURL, settings: task.spec.agent.backendSettings)
        case .scripted(let file): real = try ScriptedBackend(file: URL(fileURLWithPath: file))
        }
        let deck = try CassetteDeck(
            record: options.record.map { URL(fileURLWithPath: $0) }, replay: options.replay.map { URL(fileURLWithPath: $0) },
            fallsThrough: options.replayFallthrough)
        return deck.backend(wrapping: real, session: CassetteDeck.session(for: task.spec))
    }

    /// The task's interpreter: its Python in the sandbox `exec` asks for, with every limit of `exec`
    /// (memory, CPU, output, file size, processes, threads, GPUs). `warn` hears that `auto` found no
    /// working sandbox.
    public static func interpreter(
        for task: LoadedTask, warn: (String) -> Void = RunAssembly.standardError
    ) throws -> PythonInterpreter {
        let isolation = try ScriptIsolation.resolve(task.spec.exec, python: task.pythonExecutable)
        if let warning = isolation.warning { warn(warning) }
        warn("scripts run in sandbox: \(isolation.summary)")  // `none` is a choice the user sees
        return PythonInterpreter(task: task, isolation: isolation)
    }

    /// A run's dependencies with `backend` (a test's or a benchmark's own), the rest from the task.
    public static func dependencies(
        for task: LoadedTask, backend: any Backend, interpreter: (any Interpreter)? = nil,
        progress: @escaping @Sendable (RunProgress) -> Void = { _ in }, warn: (String) -> Void = RunAssembly.standardError
    ) throws -> RunDependencies {
        RunDependencies(
            backend: backend, interpreter: try interpreter ?? Self.scriptInterpreter(for: task, warn: warn),
            syntax: PythonSyntaxCheck(python: task.pythonExecutable), progress: progress)
    }

    /// A run's dependencies, everything from the task and the options.
    public static func dependencies(
        for task: LoadedTask, options: RunOptions, progress: @escaping @Sendable (RunProgress) -> Void = { _ in },
        warn: (String) -> Void = RunAssembly.standardError
    ) throws -> RunDependencies {
        try dependencies(for: task, backend: try backend(for: task, options: options), progress: progress, warn: warn)
    }

    /// Warnings go to standard error, a line each.
    public static func standardError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

extension SearchRun {
    /// A new run of the task file with `options`, in a new folder under `runsDirectory`.
    /// Blocking (the task's `prepare` may run): call it off the cooperative pool.
    public static func start(
        taskFile: URL, options: RunOptions, runsDirectory: URL,
        progress: @escaping @Sendable (RunProgress) -> Void = { _ in }
    ) throws -> SearchRun {
        let task = try options.loadTask(taskFile)
        try RunAssembly.checkBackend(for: task.spec, runFolder: runsDirectory)
        try RunWorkspace.checkOutside(data: task.dataDirectory, runsDirectory: runsDirectory)
        // The data is scanned and the packages probed while the sandbox is checked: each waits on
        // files or on a child process, and a loaded machine gives each its own share.
        let scan = DataScan.Pending(folder: task.dataDirectory)
        let packages = Task { await PackageProbe.importable(python: task.pythonExecutable, extra: task.spec.exec.packages) }
        return try start(
            task: task, runsDirectory: runsDirectory,
            dependencies: try RunAssembly.dependencies(for: task, options: options, progress: progress), scan: scan,
            packages: packages)
    }

    /// Continues the run in `runFolder` with `options`' budgets and workers (and its backend).
    public static func resume(
        runFolder: URL, options: RunOptions, progress: @escaping @Sendable (RunProgress) -> Void = { _ in }
    ) throws -> SearchRun {
        try options.validate()
        if options.changesTask { throw RunOptionsError.resumeChangesTask }
        try RunAssembly.cancelLeftoverJobs(runFolder: runFolder)
        return try resume(
            runFolder: runFolder,
            dependencies: { task in
                try RunAssembly.checkBackend(for: task.spec, runFolder: runFolder)
                return try RunAssembly.dependencies(for: task, options: options, progress: progress)
            },
            adjust: { options.apply(to: &$0, resuming: true) })
    }
}
