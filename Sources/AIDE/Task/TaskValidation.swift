import Foundation

// Load-time checks of the settings that decide whether a run can start at all: the policy, numbers
// that must be finite, the model options each provider would refuse, retries, and the Python that
// will run the scripts. They run before any run folder exists.

extension TaskDocument {
    /// Checks the run settings of `spec`; `python` is the interpreter as the run will start it.
    func checkRunSettings(_ spec: TaskSpec, python: String) throws {
        func check(_ ok: Bool, _ path: String, _ message: String) throws {
            if !ok { throw located(path.split(separator: ".").map(String.init), "\(path): \(message)") }
        }
        func finite(_ value: Double?, _ path: String) throws {
            if let value { try check(value.isFinite, path, "must be a finite number, found \(value)") }
        }
        let search = spec.search
        if case .mcts(let mcts) = search.policy { try finite(mcts.exploration, "search.exploration") }
        let budget = spec.budget
        try finite(budget.timeLimit, "budget.time_limit")
        try finite(budget.scriptTimeout, "budget.script_timeout")
        try finite(budget.usd, "budget.usd")
        try finite(spec.exec.cpuLimit, "exec.cpu_limit")

        let agent = spec.agent
        try check(agent.maxFailedSteps >= 1, "agent.max_failed_steps", "must be at least 1, found \(agent.maxFailedSteps)")
        for (key, settings, options) in [
            ("code", agent.code, agent.codeOptions), ("feedback", agent.feedback, agent.reviewOptions),
        ] {
            let prefix = "agent.\(key)"
            if let settings {
                try checkModelSettings(settings, prefix: prefix)
            }
            do {
                try ModelRouter.check(options)
            } catch let error as LLMError {
                let path = settings == nil ? "agent.\(key == "code" ? "code_model" : "feedback_model")" : prefix
                throw located(path.split(separator: ".").map(String.init), "\(prefix): \(options.model): \(error.reason)")
            }
        }
        if let retry = agent.retry {
            if let attempts = retry.maxAttempts {
                try check(attempts >= 1, "agent.retry.max_attempts", "must be at least 1, found \(attempts)")
            }
            if let attempts = retry.malformedAttempts {
                try check(attempts >= 1, "agent.retry.malformed_attempts", "must be at least 1, found \(attempts)")
            }
            for (value, path) in [
                (retry.maxElapsed, "max_elapsed"), (retry.initialDelay, "initial_delay"), (retry.maxDelay, "max_delay"),
                (retry.idleTimeout, "idle_timeout"), (retry.timeout, "timeout"), (retry.connectTimeout, "connect_timeout"),
            ] {
                try finite(value, "agent.retry.\(path)")
            }
        }
        try checkPython(python, memoryLimitMB: spec.exec.memoryLimitMB, packages: spec.exec.packages)
    }

    private func checkModelSettings(_ settings: ModelSettings, prefix: String) throws {
        func check(_ ok: Bool, _ key: String, _ message: String) throws {
            let path = "\(prefix).\(key)"
            if !ok { throw located(path.split(separator: ".").map(String.init), "\(path): \(message)") }
        }
        if let value = settings.temperature {
            try check(value.isFinite && (0...2).contains(value), "temperature", "must be in 0...2, found \(value)")
        }
        if let value = settings.topP {
            try check(value.isFinite && value > 0 && value <= 1, "top_p", "must be in (0, 1], found \(value)")
        }
        if let value = settings.maxTokens { try check(value >= 1, "max_tokens", "must be at least 1, found \(value)") }
        if let value = settings.thinkingBudget {
            try check(value >= 1, "thinking_budget", "must be at least 1, found \(value)")
        }
        if let value = settings.reasoningEffort {
            try check(
                ModelSettings.reasoningEfforts.contains(value), "reasoning_effort",
                "expected one of \(ModelSettings.reasoningEfforts.joined(separator: ", ")), found \"\(value)\"")
        }
        if let betas = settings.betas {
            try check(!betas.contains { $0.trimmingCharacters(in: .whitespaces).isEmpty }, "betas", "a beta name is empty")
        }
    }

    /// The interpreter must exist, be Python 3, import the task's packages, and start under the memory
    /// limit the scripts get.
    private func checkPython(_ python: String, memoryLimitMB: Int?, packages: [String]) throws {
        let path = ["exec", "python"]
        let memoryPath = ["exec", "memory_limit_mb"]
        let probe = "import sys; assert sys.version_info[0] == 3; print('ok')"
        guard let found = Self.executable(python) else {
            throw located(path, "exec.python: \(python) is not an executable file (nor a command on PATH)")
        }
        let (ok, output) = Self.runQuietly("/bin/sh", ["-c", "exec \"$0\" -c \"$1\"", found, probe])
        guard ok, output.contains("ok") else {
            let said = output.split(separator: "\n").last.map { ": \($0)" } ?? ""
            throw located(path, "exec.python: \(found) is not a working Python 3\(said)")
        }
        if !packages.isEmpty {
            // Prints the first module that does not import, and why.
            let imports = "import importlib, sys\nfor name in sys.argv[1:]:\n    try: importlib.import_module(name)\n"
                + "    except Exception as e: print(name + ': ' + type(e).__name__ + ': ' + str(e)); sys.exit(1)"
            let (imported, said) = Self.runQuietly(found, ["-c", imports] + packages)
            if !imported {
                let line = said.split(separator: "\n").last.map(String.init) ?? "it failed"
                throw located(["exec", "packages"], "exec.packages: \(found) cannot import \(line)")
            }
        }
        if let limit = memoryLimitMB {
            // The same address-space limit the scripts run under (ulimit -v is in KiB).
            let (started, _) = Self.runQuietly(
                "/bin/sh", ["-c", "ulimit -v $(($1 * 1024)) && exec \"$0\" -c \"$2\"", found, String(limit), probe])
            if !started {
                throw located(
                    memoryPath,
                    "exec.memory_limit_mb: \(limit) MiB is too little for \(found) to start; every script would fail. "
                        + "Give at least a few hundred MiB, or remove the limit")
            }
        }
    }

    /// The absolute path of an executable named by path or looked up on PATH, or nil.
    static func executable(_ name: String) -> String? {
        let files = FileManager.default
        func runnable(_ path: String) -> Bool {
            var directory: ObjCBool = false
            return files.fileExists(atPath: path, isDirectory: &directory) && !directory.boolValue
                && files.isExecutableFile(atPath: path)
        }
        if name.contains("/") { return runnable(name) ? name : nil }
        let search = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in search.split(separator: ":") where !folder.isEmpty {
            let candidate = "\(folder)/\(name)"
            if runnable(candidate) { return candidate }
        }
        return nil
    }

    /// Runs a short command with its output captured; whether it exited 0, and what it printed.
    static func runQuietly(_ executable: String, _ arguments: [String]) -> (ok: Bool, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return (false, "") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationReason == .exit && process.terminationStatus == 0, String(decoding: data, as: UTF8.self))
    }
}

extension ModelRouter {
    /// Throws what the provider would refuse about `options`, before any call: the same request body
    /// the backend would send is built and checked, and `max_tokens` against the model table.
    public static func check(_ options: ModelOptions, compatibleBaseURL: String? = nil) throws {
        let (provider, name) = try route(options.model, compatibleBaseURL: compatibleBaseURL)
        var routed = options
        routed.model = name
        if let maxTokens = options.maxTokens, let limit = ModelTable.spec(for: name)?.maxOutput, maxTokens > limit {
            throw LLMError.invalidOptions(.maxTokensAboveLimit(maxTokens: maxTokens, limit: limit))
        }
        switch provider {
        case .anthropic:
            _ = try AnthropicBackend.requestBody(
                system: nil, user: "check", funcSpec: nil, options: routed, streaming: routed.stream)
        case .openai, .openrouter, .gemini, .compatible:
            _ = try OpenAIBackend.requestBody(
                system: nil, user: "check", funcSpec: nil, options: routed, provider: provider, streaming: routed.stream)
        }
    }
}

extension LLMError {
    /// The message without the "invalid model options: " lead, for errors placed at a task key.
    var reason: String {
        if case .invalidOptions(let problem) = self { return problem.description }
        return description
    }
}
