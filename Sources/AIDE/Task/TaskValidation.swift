import Foundation

// Load-time checks of the settings that decide whether a run can start at all: the policy, numbers
// that must be finite, the model options each provider would refuse, retries, and the Python that
// will run the scripts. They run before any run folder exists.

extension TaskDocument {
    /// Checks the run settings of `spec`; `python` is the interpreter as the run will start it.
    func checkRunSettings(_ spec: TaskSpec, python: String) throws {
        let check = ValueCheck(document: self)
        func finite(_ value: Double?, _ key: String) throws {
            if let value { try check(value.isFinite, .outOfRange(key: ValueCheck.path(key), .real(value), allowed: .finite)) }
        }
        let search = spec.search
        if case .mcts(let mcts) = search.policy { try finite(mcts.exploration, "search.exploration") }
        let budget = spec.budget
        try finite(budget.timeLimit, "budget.time_limit")
        try finite(budget.scriptTimeout, "budget.script_timeout")
        try finite(budget.usd, "budget.usd")
        try finite(spec.exec.cpuLimit, "exec.cpu_limit")

        let agent = spec.agent
        try check.atLeast(1, agent.maxFailedSteps, "agent.max_failed_steps")
        for (key, settings, options) in [
            ("code", agent.code, agent.codeOptions), ("feedback", agent.feedback, agent.reviewOptions),
        ] {
            if let settings {
                try checkModelSettings(settings, key: ["agent", key], check)
            }
            do {
                try ModelRouter.check(options)
            } catch LLMError.invalidOptions(let problem) {
                // Placed at the settings when the file has them, else at the model's name.
                let at = settings == nil ? ["agent", key == "code" ? "code_model" : "feedback_model"] : ["agent", key]
                throw located(at, .modelOptions(key: ["agent", key], model: options.model, problem: problem))
            }
        }
        if let retry = agent.retry {
            try check.atLeast(1, retry.maxAttempts, "agent.retry.max_attempts")
            try check.atLeast(1, retry.malformedAttempts, "agent.retry.malformed_attempts")
            for (value, path) in [
                (retry.maxElapsed, "max_elapsed"), (retry.initialDelay, "initial_delay"), (retry.maxDelay, "max_delay"),
                (retry.idleTimeout, "idle_timeout"), (retry.timeout, "timeout"), (retry.connectTimeout, "connect_timeout"),
            ] {
                try finite(value, "agent.retry.\(path)")
            }
        }
        try checkPython(python, memoryLimitMB: spec.exec.memoryLimitMB, packages: spec.exec.packages)
    }

    private func checkModelSettings(_ settings: ModelSettings, key: [String], _ check: ValueCheck) throws {
        if let value = settings.temperature { try check.within(0, 2, value, TaskProblem.dotted(key + ["temperature"])) }
        if let value = settings.topP {
            try check(value.isFinite && value > 0 && value <= 1, .outOfRange(key: key + ["top_p"], .real(value), allowed: .aboveZeroAtMost(1)))
        }
        try check.atLeast(1, settings.maxTokens, TaskProblem.dotted(key + ["max_tokens"]))
        try check.atLeast(1, settings.thinkingBudget, TaskProblem.dotted(key + ["thinking_budget"]))
        if let value = settings.reasoningEffort {
            try check(
                ModelSettings.reasoningEfforts.contains(value),
                .expected(key: key + ["reasoning_effort"], .oneOf(ModelSettings.reasoningEfforts), found: .text(value)))
        }
        if let betas = settings.betas {
            try check(!betas.contains { $0.trimmingCharacters(in: .whitespaces).isEmpty }, .unnamed(key: key + ["betas"], .beta))
        }
    }

    /// The interpreter must exist, be Python 3, import the task's packages, and start under the memory
    /// limit the scripts get.
    private func checkPython(_ python: String, memoryLimitMB: Int?, packages: [String]) throws {
        let path = ["exec", "python"]
        let memoryPath = ["exec", "memory_limit_mb"]
        let probe = "import sys; assert sys.version_info[0] == 3; print('ok')"
        guard let found = Self.executable(python) else {
            throw located(path, .noPython(python))
        }
        let (ok, output) = Self.runQuietly("/bin/sh", ["-c", "exec \"$0\" -c \"$1\"", found, probe])
        guard ok, output.contains("ok") else {
            throw located(path, .notPython3(found, said: output.split(separator: "\n").last.map(String.init)))
        }
        if !packages.isEmpty {
            // Prints the first module that does not import, and why.
            let imports = "import importlib, sys\nfor name in sys.argv[1:]:\n    try: importlib.import_module(name)\n"
                + "    except Exception as e: print(name + ': ' + type(e).__name__ + ': ' + str(e)); sys.exit(1)"
            let (imported, said) = Self.runQuietly(found, ["-c", imports] + packages)
            if !imported {
                let line = said.split(separator: "\n").last.map(String.init) ?? "it failed"
                throw located(.cannotImport(python: found, failure: line))
            }
        }
        if let limit = memoryLimitMB {
            // The same address-space limit the scripts run under (ulimit -v is in KiB).
            let (started, _) = Self.runQuietly(
                "/bin/sh", ["-c", "ulimit -v $(($1 * 1024)) && exec \"$0\" -c \"$2\"", found, String(limit), probe])
            if !started {
                throw located(memoryPath, .memoryTooSmall(megabytes: limit, python: found))
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
