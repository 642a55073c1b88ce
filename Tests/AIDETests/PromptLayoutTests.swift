@testable import AIDE
import AIDETesting
import Foundation
import Testing

// How a step's prompt is laid out for the prompt cache: the stable prefix, then the shared blocks (a
// node's script, the memory) in the system message; the memory that grows at its end; the change
// shown to a review; the blocks as the Anthropic request carries them and as Anthropic caches them.

struct PromptLayoutTests {
    static let epoch = Date(timeIntervalSince1970: 1_700_000_000)

    static func node(_ step: Int, parent: String? = nil, code: String = "print(1)", buggy: Bool = false, plan: String? = nil) -> Node {
        Node(
            id: String(format: "n%07d", step), parentID: parent, step: step, stage: parent == nil ? .draft : .improve,
            plan: plan ?? "Plan \(step) " + String(repeating: "x", count: 80), code: code,
            execution: ExecutionResult(output: "Validation metric: 0.\(step)\n", outputBytes: 22, exitCode: 0, duration: 1),
            review: Review(isBug: buggy, summary: "Summary \(step).", metric: buggy ? nil : Double(step) / 10),
            metric: buggy ? nil : Double(step) / 10, metricSource: buggy ? nil : .output, isBuggy: buggy,
            createdAt: epoch, finishedAt: epoch)
    }

    static func journal(_ count: Int) -> Journal {
        var journal = Journal(direction: .minimize)
        for step in 0..<count { journal.append(node(step)) }
        return journal
    }

    // MARK: The memory

    /// Below its limit the memory only grows at its end; past it, the oldest entries go in one cut
    /// down to half the limit, after which it again only grows at its end.
    @Test func theMemoryGrowsAtItsEndAndIsCutInHalves() {
        let limit = 1_000
        var previous = Memory(of: Self.journal(1), limit: limit)
        var cuts = 0
        for count in 2...40 {
            let memory = Memory(of: Self.journal(count), limit: limit)
            #expect(memory.text.count <= limit)
            #expect(memory.entries.last?.step == count - 1, "the newest good node is always shown")
            if memory.entries.first == previous.entries.first {
                // The same start: the earlier memory's blocks open this one's.
                #expect(Array(memory.entries.prefix(previous.entries.count)) == previous.entries)
                #expect(memory.entries.count == previous.entries.count + 1)
            } else {
                cuts += 1
                #expect(memory.text.count <= limit / 2 + 200, "a cut goes down to about half the limit")
            }
            previous = memory
        }
        #expect(cuts >= 3 && cuts <= 12, "\(cuts) cuts in 39 additions")
        #expect(Memory(of: Journal(direction: .minimize)).isEmpty)
    }

    /// The memory's blocks: one per entry, the heading on the first, the breakpoint on the last; an
    /// entry added keeps the blocks before it byte-identical.
    @Test func theMemoryIsOneBlockPerEntry() {
        let blocks = Prompts.memoryBlocks(Memory(of: Self.journal(3)))
        #expect(blocks.count == 3)
        #expect(blocks[0].text.hasPrefix("# Memory\n\nStep 0. Design: Plan 0"))
        #expect(blocks.map(\.breakpoint) == [false, false, true])
        let more = Prompts.memoryBlocks(Memory(of: Self.journal(4)))
        #expect(more.prefix(3).map(\.text) == blocks.map(\.text))
        #expect(Prompts.memoryBlocks(Memory()).map(\.text) == ["# Memory\n\nNo solution has been tried yet."])
    }

    /// Changes tried on a solution: those the memory shows are named by their step, the others (a
    /// failed one here) are given in full.
    @Test func triedChangesTheMemoryShowsAreNamedByStep() throws {
        let journal = Self.journal(3)
        let failed = Self.node(7, parent: "n0000000", buggy: true, plan: "A plan that failed.")
        let tried = try #require(Prompts.tried(
            [journal.nodes[1], journal.nodes[2], failed], memory: Memory(of: journal), GoldenPromptTests.context))
        let text = tried.rendered()
        #expect(text.contains("Steps 1, 2 (see their entries in the Memory above)."))
        #expect(text.contains("Plan: A plan that failed."))
        #expect(!text.contains("Plan 1 xxx"))
    }

    // MARK: The shared blocks

    /// The improve call about a node, its debug call and the review of its child all open their
    /// system message with the same stable prefix and the same block for the node; the user
    /// message holds only what the step asks.
    @Test func callsAboutOneNodeShareItsBlock() {
        let context = GoldenPromptTests.context
        let parent = Self.node(0, code: (1...30).map { "x\($0) = \($0)" }.joined(separator: "\n"))
        let memory = Memory(of: Self.journal(2))
        let improve = Prompts.improve(context, memory: memory, parent: parent, edit: .diff)
        let debug = Prompts.debug(context, parent: parent, edit: .diff)
        let childCode = parent.code.replacingOccurrences(of: "x7 = 7", with: "x7 = 8")
        let review = Prompts.review(context, code: childCode, output: "Validation metric: 0.2", parent: parent)
        let ownReview = Prompts.review(context, code: parent.code, output: parent.execution!.output)
        for prompt in [improve, debug, review, ownReview] {
            #expect(prompt.shared.first == improve.shared.first)
            #expect(prompt.system == prompt.stablePrefix + prompt.shared.map(\.text).joined())
            #expect(prompt.systemBlocks.map(\.length).reduce(0, +) == prompt.system.utf8.count)
            #expect(prompt.user.hasPrefix("# This step\n\n"))
        }
        #expect(improve.shared.first?.breakpoint == true && improve.shared.last?.breakpoint == true)
        #expect(improve.shared.count == 1 + memory.entries.count)
        // The child's review shows the change, derived from the two scripts, not the whole script.
        #expect(review.user.contains("# The change\n\n```\n<<<<<<< SEARCH\nx6 = 6\nx7 = 7\nx8 = 8\n=======\nx6 = 6\nx7 = 8\nx8 = 8\n>>>>>>> REPLACE\n```"))
        #expect(!review.user.contains("x20 = 20"))
        // A rewrite as long as the script is shown whole.
        let rewrite = Prompts.review(context, code: "print('a new script')", output: "", parent: parent)
        #expect(rewrite.shared.first?.text.contains("print('a new script')") == true)
    }

    /// Derived blocks turn the parent's script into the child's, with a line of context.
    @Test(arguments: [
        ("a\nb\nc\nd\ne", "a\nb\nC\nd\ne", 1),
        ("a\nb\nc", "z\na\nb\nc", 1),
        ("a\nb\nc\nd", "a\nb\nc", 1),
        ("a\nb\nc\nd\ne\nf\ng\nh\ni", "A\nb\nc\nd\ne\nf\ng\nh\nI", 2),
        ("x = 1\nx = 1\ny = 2\nx = 1", "x = 1\nx = 1\ny = 3\nx = 1", 1),
    ])
    func derivedBlocksApplyBack(old: String, new: String, blocks: Int) throws {
        let derived = try #require(Patch.derived(from: old, to: new))
        #expect(derived.count == blocks)
        #expect(try Patch.apply(derived, to: old) == new)
    }

    @Test func noBlocksForTheSameScript() {
        #expect(Patch.derived(from: "a\nb", to: "a\nb") == nil)
        #expect(Patch.derived(from: "a", to: "b", maxCells: 0) == nil)
    }

    // MARK: On the wire

    /// With caching on, the system message is sent as its blocks, a breakpoint on each block that
    /// asks for one once the prefix up to it is long enough; off, or for blocks that do not add up,
    /// the system is sent as before.
    @Test func theSystemBlocksCarryTheirBreakpoints() throws {
        let prefix = String(repeating: "A stable line of the prefix.\n", count: 200)  // ≈ 1,450 tokens
        let system = "short\n" + prefix + "one script\n" + "memory 1\n" + "memory 2\n"
        let blocks = [6, prefix.utf8.count, 11, 9, 9].enumerated().map { index, length in
            MessageBlock(length: length, breakpoint: index != 3)
        }
        var options = ModelOptions(model: "claude-sonnet-4-5")
        options.promptCache = .auto
        options.systemBlocks = blocks
        options.cachedFunctions = [Prompts.reviewFunction]
        let body = try AnthropicBackend.requestBody(system: system, user: "step", funcSpec: nil, options: options, streaming: false).body
        let sent = try #require(body["system"]?.arrayValue)
        #expect(sent.compactMap { $0["text"]?.stringValue }.joined() == system)
        // The first block is below the minimum: no breakpoint; block 4 asks for none.
        #expect(sent.map { $0["cache_control"] != nil } == [false, true, true, false, true])
        #expect(body["tool_choice"] == ["type": "none"])
        #expect(body["messages"]?[0]?["content"] == "step")

        options.systemBlocks = [MessageBlock(length: 3, breakpoint: true)]
        let mismatched = try AnthropicBackend.requestBody(system: prefix, user: "u", funcSpec: nil, options: options, streaming: false).body
        #expect(mismatched["system"]?.arrayValue?.count == 1)
        options.promptCache = .off
        options.systemBlocks = blocks
        #expect(try AnthropicBackend.requestBody(system: system, user: "u", funcSpec: nil, options: options, streaming: false)
            .body["system"] == .string(system))
        // Never more than four breakpoints a request.
        options.promptCache = .auto
        options.systemBlocks = [MessageBlock(length: prefix.utf8.count, breakpoint: true)]
            + (0..<6).map { _ in MessageBlock(length: 1, breakpoint: true) }
        let many = try AnthropicBackend.requestBody(system: prefix + "abcdef", user: "u", funcSpec: nil, options: options, streaming: false).body
        #expect(many["system"]?.arrayValue?.filter { $0["cache_control"] != nil }.count == 4)
    }

    /// Anthropic's lookback, as AIDETesting's cache keeps it: a request whose memory grew by a block
    /// reads the prefix an earlier request wrote at its own last breakpoint, and writes only the
    /// new block; another request's message-level breakpoint does not match across tool_choice.
    @Test func aGrownMemoryReadsWhatTheRequestBeforeWrote() {
        let cache = AnthropicPromptCache()
        let prefix = String(repeating: "p", count: 8_000)
        func body(_ memory: [String]) -> [String: Any] {
            var system: [[String: Any]] = [["type": "text", "text": prefix, "cache_control": ["type": "ephemeral"]]]
            for (index, entry) in memory.enumerated() {
                var block: [String: Any] = ["type": "text", "text": entry]
                if index == memory.count - 1 { block["cache_control"] = ["type": "ephemeral"] }
                system.append(block)
            }
            return ["system": system, "messages": [["role": "user", "content": "step"]]]
        }
        let entry = String(repeating: "m", count: 400)
        let first = cache.usage(for: body([entry, entry]), output: 1)
        #expect(first.cacheRead == 0 && first.cacheCreation == (8_000 + 800) / 4)
        let second = cache.usage(for: body([entry, entry, entry]), output: 1)
        #expect(second.cacheRead == (8_000 + 800) / 4 && second.cacheCreation == (8_000 + 1_200) / 4 - (8_000 + 800) / 4)
        // A memory cut at its start shares only the prefix.
        let cut = cache.usage(for: body([entry + "!"]), output: 1)
        #expect(cut.cacheRead == 8_000 / 4)
    }
}
