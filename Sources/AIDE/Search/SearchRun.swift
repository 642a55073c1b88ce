import Foundation

/// Where a run stands, for a live display.
public struct RunProgress: Sendable {
    public var runID: String
    public var step: Int?
    public var stage: String
    public var nodes: Int
    public var budgetSteps: Int
    public var bestMetric: Double?
    public var bestTestScore: Double?
    public var inputTokens: Int
    public var outputTokens: Int
    public var costUSD: Double
    public var elapsed: Double
    /// Steps in flight, this one included.
    public var inFlight: Int = 0
    /// The node just finished, on "finished" events.
    public var node: Node?
}

/// How a run ended.
public struct RunSummary: Sendable {
    public var runID: String
    public var folder: URL
    public var status: RunStatus
    public var stopReason: String?
    public var nodes: Int
    public var goodNodes: Int
    public var best: Node?
    public var inputTokens: Int
    public var outputTokens: Int
    public var costUSD: Double
    public var elapsed: Double
}

/// What a run is made with besides the task: the model backend, the interpreter, and a listener.
public struct RunDependencies: Sendable {
    public var backend: any Backend
    public var interpreter: any Interpreter
    public var syntax: PythonSyntaxCheck
    public var progress: @Sendable (RunProgress) -> Void
    /// Times the heartbeat (a test's clock advances by hand).
    public var clock: any Clock<Duration>
    /// Hears what the user must know as a run starts or resumes, a line each (how the data is shared, that it changed).
    public var notice: @Sendable (String) -> Void

    public init(
        backend: any Backend, interpreter: any Interpreter, syntax: PythonSyntaxCheck,
        progress: @escaping @Sendable (RunProgress) -> Void = { _ in }, clock: any Clock<Duration> = ContinuousClock(),
        notice: @escaping @Sendable (String) -> Void = RunAssembly.standardError
    ) {
        self.backend = backend
        self.interpreter = interpreter
        self.syntax = syntax
        self.progress = progress
        self.clock = clock
        self.notice = notice
    }
}

/// One search over one task: picks actions with the policy, runs the operators, executes and
/// reviews each script, grades it, and commits every node with its LLM calls to the run's store.
///
/// Its state changes (choosing an action, committing a node) happen inside the actor; a step's
/// LLM calls and execution happen between them, so several steps can be in flight at once.
public actor SearchRun {
    public nonisolated let id: String
    public nonisolated let workspace: RunWorkspace
    private let task: LoadedTask
    private let store: RunStore
    private let operators: OperatorContext
    /// What the task's Python can import, probed when the run (re)starts; nil before, or when the
    /// probe could not run.
    private var packages: [String]?
    /// The probe started with the run, when it was (it goes on while the run is set up).
    private let packagesProbe: Task<[String]?, Never>?
    private let policy: any SearchPolicy
    private let grader: (any SubmissionGrader)?
    /// What a submission must hold, checked before grading; nil when nothing says.
    private let submissionCheck: SubmissionCheck?
    private let dependencies: RunDependencies
    /// Held for the run's lifetime: no other process writes this run meanwhile.
    private let lock: RunLock
    private var journal: Journal
    private var inFlight: [Int: SearchAction] = [:]
    /// Steps a stopped process left pending (their script a Slurm job): finished first when the run resumes.
    private var leftPending: [PendingStep] = []
    private var stopRequested = false
    /// The run's LLM calls, so a stop request can cut a hanging one short.
    private let calls: InterruptibleBackend
    /// Steps in a row, in commit order, whose code call failed after its retries.
    var failedStreak = 0
    /// Steps in flight at most.
    private let workers: Int
    /// Shared by the workers: scripts running at once.
    private let scripts: ConcurrencyLimit
    private var totals = (input: 0, output: 0, usd: 0.0)
    private let elapsedBefore: Double
    /// Seconds since this process took the run on, on the dependencies' clock.
    private let stopwatch: @Sendable () -> Double

    private init(
        id: String, workspace: RunWorkspace, task: LoadedTask, store: RunStore, journal: Journal,
        totals: (Int, Int, Double), elapsedBefore: Double, dependencies: RunDependencies, lock: RunLock,
        dataPreview: String, pending: [PendingStep] = [], packages: Task<[String]?, Never>? = nil
    ) throws {
        self.lock = lock
        leftPending = pending
        packagesProbe = packages
        self.id = id
        self.workspace = workspace
        self.task = task
        self.store = store
        self.journal = journal
        self.totals = totals
        self.elapsedBefore = elapsedBefore
        self.dependencies = dependencies
        stopwatch = Self.stopwatch(dependencies.clock)
        let spec = task.spec
        policy = spec.search.makePolicy()
        grader = try task.makeGrader()
        submissionCheck = try SubmissionCheck.make(
            grading: spec.grading, sampleSubmission: spec.grading?.sampleSubmission, dataDirectory: task.dataDirectory,
            grader: grader as? Grader)
        var prompt = PromptContext(
            taskName: spec.name, goal: spec.goal, description: task.descriptionText, metricName: spec.metric.name,
            direction: spec.metric.direction, dataPreview: dataPreview,
            scriptTimeout: spec.budget.scriptTimeout, submissionFile: spec.grading?.submission ?? "submission.csv")
        prompt.resources = Self.resources(spec)
        prompt.validation = spec.search.validation
        prompt.reasoning = spec.search.reasoning
        prompt.descriptionFiles = DescriptionFile.mentioned(in: task.descriptionText, directory: workspace.input)
        workers = spec.search.workers
        scripts = ConcurrencyLimit(spec.exec.scriptSlots)
        let parallelCalls = spec.agent.parallelCalls ?? workers
        calls = InterruptibleBackend(CutOffRetry(dependencies.backend))
        var operators = OperatorContext(
            backend: parallelCalls < workers ? BoundedBackend(calls, limit: ConcurrencyLimit(parallelCalls)) : calls,
            codeOptions: spec.agent.codeOptions, reviewOptions: spec.agent.reviewOptions,
            prompt: prompt, syntax: dependencies.syntax)
        operators.editFormat = spec.agent.editFormat
        // One cache per run: its calls share their stable prefix (`Prompts.prefix`).
        operators.codeOptions.promptCacheKey = "aide-run-\(id)"
        operators.reviewOptions.promptCacheKey = "aide-run-\(id)"
        // Code calls and reviews carry the same tools, so that they read one cached prefix.
        operators.codeOptions.cachedFunctions = [Prompts.reviewFunction]
        operators.reviewOptions.cachedFunctions = [Prompts.reviewFunction]
        self.operators = operators
    }

    /// A new run of `task` in a new folder under `runsDirectory`.
    /// `scan` is the data folder's (made now when nil); `packages`, the package probe already under way.
    public static func start(
        task: LoadedTask, runsDirectory: URL, dependencies: RunDependencies, scan: DataScan.Pending? = nil,
        packages: Task<[String]?, Never>? = nil
    ) throws -> SearchRun {
        try RunWorkspace.checkRunsDirectory(runsDirectory)
        let id = RunWorkspace.newRunID(taskName: task.spec.name)
        let workspace = RunWorkspace(root: runsDirectory.appendingPathComponent(id, isDirectory: true))
        try RunWorkspace.checkOutside(data: task.dataDirectory, runsDirectory: runsDirectory)
        // One walk gives the fingerprint and the preview (of the data itself: a copy would show the same).
        let scan = scan?.value ?? DataScan(folder: task.dataDirectory)
        let (data, notice) = RunData.plan(
            folder: task.dataDirectory, sharing: task.spec.exec.data, sandbox: dependencies.interpreter.sandbox, scan: scan)
        dependencies.notice(notice)
        try workspace.create(data: data)
        let lock = try RunLock(folder: workspace.root)
        let store = try RunStore(path: workspace.database)
        try store.createRun(RunRecord(id: id, taskFile: task.file.path, spec: task.spec))
        try store.setDataSource(data)
        try store.setDataPreview(scan.preview)
        if let isolation = dependencies.interpreter.isolation { try store.setSandbox(isolation) }
        return try SearchRun(
            id: id, workspace: workspace, task: task, store: store, journal: Journal(direction: task.spec.metric.direction),
            totals: (0, 0, 0), elapsedBefore: 0, dependencies: dependencies, lock: lock, dataPreview: scan.preview,
            packages: packages)
    }

    /// Continues a run from its database. Everything committed is kept. A step that was in flight
    /// when it stopped is finished from where it was when its script had been handed to a job that
    /// outlives the process (`PendingStep`: the job's result taken over, or its script run again);
    /// any other is lost and done again. `adjust` may extend budgets.
    public static func resume(
        runFolder: URL, dependencies makeDependencies: (LoadedTask) throws -> RunDependencies,
        adjust: (inout TaskSpec) -> Void = { _ in }
    ) throws -> SearchRun {
        let workspace = RunWorkspace(root: runFolder)
        let lock = try RunLock(folder: workspace.root)
        let store = try RunStore(path: workspace.database)
        guard let record = try store.run() else { throw StoreError.noRun(path: workspace.database.path) }
        var spec = try record.spec()
        adjust(&spec)
        let task = try TaskLoader.resolve(spec: spec, file: URL(fileURLWithPath: record.taskFile))
        // Built (and the backend checked) before anything is changed: a resume that cannot start
        // leaves the run as it was, not marked running with no one running it.
        let dependencies = try makeDependencies(task)
        let nodes = try store.nodes()
        let pending = try store.pendingSteps()
        try workspace.removeUnfinishedNodeFolders(keeping: Set(nodes.map(\.id) + pending.map(\.node.id)))
        let totals = try store.totals()
        // Steps commit out of order when several run at once: the latest row is the longest elapsed.
        let elapsed = try store.metrics().map(\.elapsed).max() ?? 0
        try store.updateRun(status: .running, stopReason: nil, bestNodeID: record.bestNodeID, finishedAt: nil)
        // Built once, when the run started; a run from an older build gets one now, kept for next time.
        let preview: String
        if let stored = try store.dataPreview() {
            preview = stored
        } else {
            preview = DataPreview.generate(for: workspace.input.resolvingSymlinksInPath())
            try store.setDataPreview(preview)
        }
        if let data = try store.dataSource(),
            let changes = data.changes(now: data.currentFingerprint(), sandboxed: dependencies.interpreter.sandbox != nil)
        {
            dependencies.notice(changes)
        }
        if let isolation = dependencies.interpreter.isolation { try store.setSandbox(isolation) }
        return try SearchRun(
            id: record.id, workspace: workspace, task: task, store: store,
            journal: Journal(direction: spec.metric.direction, nodes: nodes),
            totals: (totals.inputTokens, totals.outputTokens, totals.costUSD), elapsedBefore: elapsed,
            dependencies: dependencies, lock: lock, dataPreview: preview, pending: pending)
    }

    /// Runs steps, up to `search.workers` at once, until a budget is spent, `requestStop()` is called
    /// (the steps in flight finish, then the run is marked interrupted), the task is cancelled (steps
    /// in flight are abandoned; interrupted), or an LLM call fails for good (the other steps in
    /// flight finish; marked failed, resumable).
    public func run() async -> RunSummary {
        if packages == nil, let packagesProbe {
            packages = await packagesProbe.value
        } else if packages == nil {
            packages = await PackageProbe.importable(python: dependencies.syntax.python, extra: task.spec.exec.packages)
        }
        var failure: String?
        var cancelled = false
        // Between commits (a long script), the heartbeat shows the run is alive.
        let heartbeat = Task { [weak self, clock = dependencies.clock] in
            while !Task.isCancelled {
                do {
                    try await clock.sleep(for: .seconds(RunHeartbeat.interval))
                } catch {
                    return
                }
                await self?.touch()
            }
        }
        defer { heartbeat.cancel() }
        await withTaskGroup(of: StepResult.self) { group in
            var running = 0
            // Steps a stopped process left pending come first, under their own numbers and actions.
            for pending in leftPending where journal[pending.node.id] == nil {
                let action = SearchAction(of: pending.node)
                inFlight[pending.node.step] = action
                group.addTask { await self.perform(pending.node.step, action, resuming: pending) }
                running += 1
            }
            leftPending = []
            while true {
                while failure == nil, !cancelled, !stopRequested, !Task.isCancelled, running < workers,
                    spentBudget() == nil
                {
                    let (number, action) = reserveStep()
                    group.addTask { await self.perform(number, action) }
                    running += 1
                }
                guard running > 0, let result = await group.next() else { break }
                running -= 1
                switch result {
                case .finished((let node, let calls)):
                    do {
                        try commit(node, records: calls)
                    } catch {
                        failure = failure ?? "step \(node.step) could not be stored: \(error)"
                    }
                case .cancelled(let number):
                    inFlight[number] = nil
                    cancelled = true
                case .failed(let number, let error, let calls):
                    inFlight[number] = nil
                    recordLooseCalls(calls, step: number)
                    failure = failure ?? "step \(number) failed: \(error)"
                case .callFailed(let number, let action, let error, let calls):
                    // An outage costs the step, not the run, unless it lasts `max_failed_steps` steps.
                    do {
                        try commit(failedNode(number, action, error: error), records: calls.map { record($0, step: number, nodeID: nil) })
                    } catch {
                        failure = failure ?? "step \(number) could not be stored: \(error)"
                    }
                    failure = failure ?? tooManyFailedSteps(lastError: error)
                }
            }
        }
        if let failure { return finish(status: .failed, reason: failure) }
        if cancelled || stopRequested || Task.isCancelled {
            // Steps whose calls were cut short leave no node: nor a half-made folder. A pending step
            // keeps its folder: its job's result may be taken over on resume.
            let pending = (try? store.pendingSteps().map(\.node.id)) ?? []
            try? workspace.removeUnfinishedNodeFolders(keeping: Set(journal.nodes.map(\.id) + pending))
            return finish(status: .interrupted, reason: "interrupted")
        }
        return finish(status: .finished, reason: spentBudget())
    }

    /// Stops handing out steps; the steps in flight finish and are committed, then `run()` returns
    /// with the run marked interrupted (Ctrl-C). Returns the nodes committed and the steps in flight
    /// at this moment: the run will end with their sum.
    @discardableResult
    public func requestStop() -> (committed: Int, inFlight: Int) {
        stopRequested = true
        // A call waiting on a provider may wait for many minutes: cut it short now.
        calls.interrupt()
        return (journal.count, inFlight.count)
    }

    private enum StepResult: Sendable {
        case finished((Node, [LLMCallRecord]))
        case cancelled(Int)
        case failed(Int, String, [CallTrace])
        /// The step's code call failed after its retries: the step is stored as failed.
        case callFailed(Int, SearchAction, String, [CallTrace])
    }

    private func perform(_ number: Int, _ action: SearchAction, resuming pending: PendingStep? = nil) async -> StepResult {
        await CallStep.$current.withValue(number) { await performStep(number, action, resuming: pending) }
    }

    private func performStep(_ number: Int, _ action: SearchAction, resuming pending: PendingStep?) async -> StepResult {
        do {
            if let pending { return .finished(try await finish(pending, adopting: true)) }
            return .finished(try await step(number, action))
        } catch {
            if Task.isCancelled || error is CancellationError { return .cancelled(number) }
            if let failure = error as? OperatorFailure, Self.costsOnlyTheStep(failure.underlying) {
                return .callFailed(number, action, "\(failure.underlying)", failure.calls)
            }
            return .failed(number, "\(error)", (error as? OperatorFailure)?.calls ?? [])
        }
    }

    // MARK: - One step

    /// Chooses the action for the next step and marks it in flight.
    /// The operators with what the run learnt once it started (the probed packages): every call of
    /// the run, code calls and reviews, gets the same stable prefix from them.
    private var runOperators: OperatorContext {
        var operators = self.operators
        if let packages { operators.prompt.packages = packages }
        return operators
    }

    private func reserveStep() -> (Int, SearchAction) {
        let number = max(journal.nextStep, (inFlight.keys.max() ?? -1) + 1)
        var random = SeededRandom(seed: task.spec.search.seed, step: number)
        let action = policy.next(journal: journal, inFlight: Array(inFlight.values), step: number, random: &random)
        inFlight[number] = action
        return (number, action)
    }

    /// Generate, execute, review, grade: one node. Runs outside the actor's state.
    private func step(_ number: Int, _ action: SearchAction) async throws -> (Node, [LLMCallRecord]) {
        let parent = action.parentID.flatMap { journal[$0] }
        let nodeID = Self.nodeID(seed: task.spec.search.seed, step: number)
        let memory = Prompts.memory(of: journal)
        let created = Date()
        report(step: number, stage: "\(action.stage.rawValue): generating")
        var operators = runOperators
        operators.prompt.step = StepFacts(
            timeout: scriptTimeout(), stepsLeft: task.spec.budget.steps - journal.count - inFlight.count + 1,
            timeLeft: task.spec.budget.timeLimit.map { max(0, $0 - elapsed()) })

        let outcome: Operators.Outcome
        switch action {
        case .draft: outcome = try await Operators.draft(operators, memory: memory)
        case .improve:
            let siblings = journal.children()[parent!.id] ?? []
            outcome = try await Operators.improve(operators, memory: memory, parent: parent!, siblings: siblings)
        case .debug: outcome = try await Operators.debug(operators, parent: parent!, earlierAttempts: earlierAttempts(of: parent!))
        case .crossover(_, let otherID):
            outcome = try await Operators.crossover(operators, memory: memory, first: parent!, second: journal[otherID]!)
        }
        var node = Node(
            id: nodeID, parentID: parent?.id, step: number, stage: action.stage, plan: outcome.proposal?.plan ?? "",
            code: outcome.proposal?.code ?? "", isBuggy: true,
            debugDepth: action.stage == .debug ? (parent?.debugDepth ?? 0) + 1 : 0, createdAt: created,
            finishedAt: created, otherParentID: action.otherParentID, patch: outcome.proposal?.patch)
        let calls = outcome.calls.map { record($0, step: number, nodeID: nil) }
        guard outcome.proposal != nil else {
            node.error = "no usable code: " + (outcome.failure ?? "no answer")
            node.bugReasons = ["no usable code"]
            node.finishedAt = Date()
            return (node, calls)
        }
        let pending = PendingStep(node: node, calls: calls)
        // A job outlives a killed aide: what the step has so far is kept, so a resume can finish it.
        if dependencies.interpreter.scriptsOutliveProcess { try store.savePending(pending) }
        return try await finish(pending, adopting: false)
    }

    /// Execute, review, grade: the rest of a step whose code is chosen. `adopting`: the step was left
    /// pending by a stopped process, and the interpreter may hand over the result of its script.
    private func finish(_ pending: PendingStep, adopting: Bool) async throws -> (Node, [LLMCallRecord]) {
        var node = pending.node
        let (number, stage, code) = (node.step, node.stage, node.code)
        let interpreter = dependencies.interpreter
        let existing = workspace.nodeFolder(step: number, nodeID: node.id)
        var execution: ExecutionResult?
        if adopting, FileManager.default.fileExists(atPath: existing.path) {
            report(step: number, stage: "\(stage.rawValue): taking over its job")
            execution = try await interpreter.adopt(in: existing)
        }
        let folder: URL
        if let execution {
            folder = existing
            try? Data(execution.output.utf8).write(to: folder.appendingPathComponent("output.txt"))
        } else {
            folder = try workspace.prepareNodeFolder(step: number, nodeID: node.id)
            report(step: number, stage: "\(stage.rawValue): executing")
            let ran = try await scripts.withSlot {
                // Read once the slot is had: waiting for it spends the run's time budget too.
                try await interpreter.run(script: code, in: folder, timeout: await self.scriptTimeout())
            }
            try? Data(ran.output.utf8).write(to: folder.appendingPathComponent("output.txt"))
            execution = ran
        }
        guard let execution else { preconditionFailure("a step's script has run or was taken over") }

        report(step: number, stage: "\(stage.rawValue): reviewing")
        // The review's prompt starts with the same prefix as the step's code call (probed packages included).
        let (review, reviewFailure, reviewCall) = try await Operators.review(
            runOperators, code: code, output: execution.output)
        let submissionName = task.spec.grading?.submission ?? "submission.csv"
        let submission = folder.appendingPathComponent("working").appendingPathComponent(submissionName)
        // Looked at, not followed: a link, folder, FIFO or device is refused before anything reads it.
        let submissionKind = SubmissionFile.check(submission, maxBytes: task.spec.exec.maxFileMB << 20)
        let written = submissionKind.isRegular
        let submissionProblems = written ? submissionCheck?.problems(in: submission) ?? [] : []
        var assessment = Assessment.of(
            execution: execution, review: review, submissionWritten: written, submissionFile: submissionName,
            submissionProblems: submissionProblems)

        var problems = [reviewFailure].compactMap { $0 }
        let cutOff = pending.calls.compactMap(\.cutOffRetries).reduce(0, +)
        if cutOff > 0 { problems.append("the answer was cut off at max_tokens and asked again with more room (\(cutOff)×)") }
        if let grader, written, submissionProblems.isEmpty {
            do {
                node.testScore = try await grader.score(submission: submission)
            } catch {
                // A submission the grader cannot score is never best.
                problems.append("grading failed: \(error)")
                assessment.reject("the submission could not be graded: \(error)")
            }
        }
        node.execution = execution
        node.review = review
        if let refusal = submissionKind.refusal { assessment.reject(refusal) }
        node.isBuggy = assessment.isBuggy
        node.bugReasons = assessment.reasons
        node.metric = assessment.metric
        node.metricSource = assessment.metricSource
        node.error = problems.isEmpty ? nil : problems.joined(separator: "; ")
        node.finishedAt = Date()
        return (node, pending.calls + [record(reviewCall, step: number, nodeID: nil)])
    }

    /// The nodes of `node`'s debug chain before it, oldest first: the failure the chain started
    /// from and each fix tried since.
    private func earlierAttempts(of node: Node) -> [Node] {
        var chain: [Node] = []
        var current = node
        while current.stage == .debug, let parentID = current.parentID, let parent = journal[parentID] {
            chain.insert(parent, at: 0)
            current = parent
        }
        return chain
    }

    /// Cores, memory, GPUs and network as a script of this task has them.
    static func resources(_ spec: TaskSpec) -> [String] {
        let exec = spec.exec
        let threads = exec.threadsPerScript(running: spec.search.workers)
        let gib = Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30)
        let memory = exec.memoryLimitMB.map { "Memory: at most \($0) MiB per script." }
            ?? String(format: "Memory: no limit set by the harness; the machine has %.0f GiB, shared with other scripts.", gib)
        let gpus = exec.gpus.indices(present: GPUDevices.indices())
        let network: String
        switch exec.sandbox {
        case .none: network = "Network: not blocked by the harness, but do not rely on downloads."
        default: network = exec.network ? "Network: allowed." : "Network: none (the sandbox blocks it); download nothing."
        }
        return [
            "CPU: \(threads) thread\(threads == 1 ? "" : "s") for this script (set n_jobs / num_threads to at most that).",
            memory,
            gpus.isEmpty ? "GPU: none; use the CPU." : "GPU: \(gpus.count) CUDA device\(gpus.count == 1 ? "" : "s").",
            network,
        ]
    }

    /// The node of a step whose code call failed for good: no code, buggy, the error kept.
    private func failedNode(_ number: Int, _ action: SearchAction, error: String) -> Node {
        let parent = action.parentID.flatMap { journal[$0] }
        var node = Node(
            id: Self.nodeID(seed: task.spec.search.seed, step: number), parentID: parent?.id, step: number,
            stage: action.stage, plan: "", code: "", isBuggy: true,
            debugDepth: action.stage == .debug ? (parent?.debugDepth ?? 0) + 1 : 0, createdAt: Date(),
            finishedAt: Date(), otherParentID: action.otherParentID)
        node.error = "LLM call failed: " + error
        node.bugReasons = [Self.failedCallReason]
        return node
    }

    /// Why the run must end after this many failed steps in a row, or nil.
    private func tooManyFailedSteps(lastError: String) -> String? {
        let limit = task.spec.agent.maxFailedSteps
        guard failedStreak >= limit else { return nil }
        return "\(failedStreak) steps in a row failed on their LLM calls (agent.max_failed_steps is \(limit)); last: \(lastError)"
    }

    /// Node ids follow from the seed and step, so a replayed run builds the same tree.
    static func nodeID(seed: UInt64, step: Int) -> String {
        var random = SeededRandom(seed: seed ^ 0xA1DE, step: step)
        return String(format: "%08x", UInt32(truncatingIfNeeded: random.next()))
    }

    // MARK: - Committing

    /// Adds the node to the tree and writes it, its calls and the metrics row in one transaction.
    private func commit(_ node: Node, records: [LLMCallRecord]) throws {
        inFlight[node.step] = nil
        let previousBest = journal.best?.id
        journal.append(node)
        for call in records {
            totals.input += call.inputTokens
            totals.output += call.outputTokens
            totals.usd += call.costUSD ?? 0
        }
        let best = journal.best
        let metrics = MetricsRecord(
            runID: id, step: node.step, bestMetric: best?.metric, bestTestScore: best?.testScore, bestNodeID: best?.id,
            inputTokens: totals.input, outputTokens: totals.output, costUSD: totals.usd, elapsed: elapsed(),
            nodes: journal.count, buggyNodes: journal.buggyNodes.count)
        try store.commit(node: node, calls: records, metrics: metrics, bestNodeID: best?.id)
        failedStreak = Self.isFailedStep(node) ? failedStreak + 1 : 0
        if let best, best.id != previousBest {
            try workspace.recordBest(code: best.code, submission: submissionFile(of: best))
        }
        var progress = snapshot(step: node.step, stage: "finished")
        progress.node = node
        dependencies.progress(progress)
    }

    private nonisolated func record(_ trace: CallTrace, step: Int, nodeID: String?) -> LLMCallRecord {
        if let result = trace.result {
            return LLMCallRecord(runID: id, nodeID: nodeID, step: step, purpose: trace.purpose, model: trace.model, result: result)
        }
        var record = LLMCallRecord(
            runID: id, nodeID: nodeID, step: step, purpose: trace.purpose, model: trace.model,
            provider: trace.provider ?? CallProvider(model: trace.model), error: trace.error ?? "failed",
            latency: trace.latency, attempts: trace.attempts.count)
        record.attemptFailures = LLMCallRecord.jsonList(trace.attempts.failures)
        return record
    }

    /// Calls of a step that produced no node (it failed): kept, so their cost is not lost.
    private func recordLooseCalls(_ calls: [CallTrace], step: Int) {
        for call in calls {
            let record = record(call, step: step, nodeID: nil)
            totals.input += record.inputTokens
            totals.output += record.outputTokens
            totals.usd += record.costUSD ?? 0
            _ = try? store.recordCall(record)
        }
    }

    private func finish(status: RunStatus, reason: String?) -> RunSummary {
        let best = journal.best
        if let best { try? workspace.recordBest(code: best.code, submission: submissionFile(of: best)) }
        try? store.updateRun(
            status: status, stopReason: reason, bestNodeID: best?.id, finishedAt: status == .finished ? Date() : nil)
        dependencies.progress(snapshot(step: nil, stage: status.rawValue))
        return RunSummary(
            runID: id, folder: workspace.root, status: status, stopReason: reason, nodes: journal.count,
            goodNodes: journal.goodNodes.count, best: best, inputTokens: totals.input, outputTokens: totals.output,
            costUSD: totals.usd, elapsed: elapsed())
    }

    private func touch() {
        try? store.touchRun()
    }

    // MARK: - Budgets and progress

    /// Why no further step may start, or nil.
    private func spentBudget() -> String? {
        let budget = task.spec.budget
        if journal.count + inFlight.count >= budget.steps { return "steps budget (\(budget.steps)) reached" }
        if let limit = budget.timeLimit, elapsed() >= limit { return "time budget (\(Int(limit)) s) reached" }
        if let usd = budget.usd, totals.usd >= usd { return String(format: "USD budget ($%.2f) reached", usd) }
        if let tokens = budget.tokens, totals.input + totals.output >= tokens { return "token budget (\(tokens)) reached" }
        return nil
    }

    /// The script timeout, shortened so a script cannot run past the run's time budget.
    private func scriptTimeout() -> Double {
        let budget = task.spec.budget
        guard let limit = budget.timeLimit else { return budget.scriptTimeout }
        return max(1, min(budget.scriptTimeout, limit - elapsed()))
    }

    private func elapsed() -> Double {
        elapsedBefore + stopwatch()
    }

    private static func stopwatch<C: Clock<Duration>>(_ clock: C) -> @Sendable () -> Double {
        let start = clock.now
        return { start.duration(to: clock.now).seconds }
    }

    private func submissionFile(of node: Node) -> URL {
        workspace.nodeFolder(step: node.step, nodeID: node.id).appendingPathComponent("working")
            .appendingPathComponent(task.spec.grading?.submission ?? "submission.csv")
    }

    private func report(step: Int, stage: String) {
        dependencies.progress(snapshot(step: step, stage: stage))
    }

    private func snapshot(step: Int?, stage: String) -> RunProgress {
        let best = journal.best
        return RunProgress(
            runID: id, step: step, stage: stage, nodes: journal.count, budgetSteps: task.spec.budget.steps,
            bestMetric: best?.metric, bestTestScore: best?.testScore, inputTokens: totals.input,
            outputTokens: totals.output, costUSD: totals.usd, elapsed: elapsed(), inFlight: inFlight.count, node: nil)
    }
}
