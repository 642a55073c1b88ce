@testable import AIDE
import Foundation
import Testing

/// The policies' choices on hand-built trees, where the right choice can be worked out by hand.
struct SearchPolicyTests {
    /// A finished node; good when it has a metric and is not marked buggy.
    private func node(
        _ id: String, _ step: Int, parent: String? = nil, stage: Stage? = nil, metric: Double? = nil,
        buggy: Bool = false, debugDepth: Int = 0, code: String = "print(1)"
    ) -> Node {
        let date = Date(timeIntervalSince1970: 0)
        return Node(
            id: id, parentID: parent, step: step, stage: stage ?? (parent == nil ? .draft : .improve), plan: "",
            code: code, metric: buggy ? nil : metric, isBuggy: buggy || metric == nil, debugDepth: debugDepth,
            createdAt: date, finishedAt: date)
    }

    private func journal(_ nodes: [Node], _ direction: MetricDirection = .maximize) -> Journal {
        Journal(direction: direction, nodes: nodes)
    }

    private func choose(
        _ policy: any SearchPolicy, _ journal: Journal, inFlight: [SearchAction] = [], step: Int? = nil, seed: UInt64 = 1
    ) -> SearchAction {
        let step = step ?? journal.nextStep + inFlight.count
        var random = SeededRandom(seed: seed, step: step)
        return policy.next(journal: journal, inFlight: inFlight, step: step, random: &random)
    }

    // MARK: - Greedy

    @Test func greedyDoesNotDebugANodeAlreadyBeingDebugged() {
        let policy = GreedyPolicy(numDrafts: 2, debugProb: 1, maxDebugDepth: 3)
        let tree = journal([node("a", 0, metric: 0.5), node("b", 1, buggy: true)])
        #expect(choose(policy, tree) == .debug(parentID: "b"))
        #expect(choose(policy, tree, inFlight: [.debug(parentID: "b")]) == .improve(parentID: "a"))
    }

    @Test func greedyCountsDraftsInFlight() {
        let policy = GreedyPolicy(numDrafts: 3, debugProb: 0, maxDebugDepth: 3)
        let tree = journal([node("a", 0, metric: 0.5)])
        #expect(choose(policy, tree, inFlight: [.draft]) == .draft)
        #expect(choose(policy, tree, inFlight: [.draft, .draft]) == .improve(parentID: "a"))
    }

    /// aideml's rule: a buggy leaf is debugged while its debug depth is at most max_debug_depth.
    @Test func greedyDebugsUpToAndIncludingTheMaximumDepth() {
        let policy = GreedyPolicy(numDrafts: 1, debugProb: 1, maxDebugDepth: 2)
        let atLimit = journal([node("a", 0, buggy: true), node("b", 1, parent: "a", stage: .debug, buggy: true, debugDepth: 2)])
        #expect(choose(policy, atLimit) == .debug(parentID: "b"))
        let past = journal([node("a", 0, buggy: true), node("b", 1, parent: "a", stage: .debug, buggy: true, debugDepth: 3)])
        #expect(choose(policy, past) == .draft)
    }

    @Test func noPolicyDebugsANodeWithoutCode() {
        let tree = journal([node("a", 0, buggy: true, code: "")])
        #expect(choose(GreedyPolicy(numDrafts: 1, debugProb: 1, maxDebugDepth: 3), tree) == .draft)
        #expect(choose(mcts(drafts: 1), tree) == .draft)
    }

    // MARK: - MCTS

    private func mcts(drafts: Int = 2, exploration: Double = 0, maxChildren: Int = 3, maxDebugDepth: Int = 3) -> MCTSPolicy {
        MCTSPolicy(numDrafts: drafts, maxDebugDepth: maxDebugDepth, exploration: exploration, maxChildren: maxChildren)
    }

    @Test func mctsDraftsFirstCountingDraftsInFlight() {
        #expect(choose(mcts(drafts: 2), journal([])) == .draft)
        #expect(choose(mcts(drafts: 2), journal([node("a", 0, metric: 1)]), inFlight: [.draft]) != .draft)
    }

    @Test func mctsWithoutExplorationExpandsTheBestValuedDraft() {
        let tree = journal([node("a", 0, metric: 0.9), node("b", 1, metric: 0.1)])
        #expect(choose(mcts(), tree) == .improve(parentID: "a"))
        // Minimising, the same metrics make b the better one.
        #expect(choose(mcts(), journal(tree.nodes, .minimize)) == .improve(parentID: "b"))
    }

    @Test func mctsExplorationFavoursTheLessVisitedBranch() {
        // a has two children (3 visits, high value); b has none (1 visit, value 0).
        let tree = journal([
            node("a", 0, metric: 0.9), node("b", 1, metric: 0.1),
            node("a1", 2, parent: "a", metric: 0.8), node("a2", 3, parent: "a", metric: 0.7),
        ])
        #expect(choose(mcts(exploration: 0), tree) == .improve(parentID: "a"))
        #expect(choose(mcts(exploration: 10), tree) == .improve(parentID: "b"))
    }

    @Test func mctsBacksUpDescendantsValuesAlongThePath() {
        // b's own metric beats a's, but a's subtree holds the best nodes: backed up, a's mean
        // value (0 + 1 + 1) / 3 beats b's 0.2, so a is expanded.
        let tree = journal([
            node("a", 0, metric: 0.5), node("b", 1, metric: 0.6),
            node("a1", 2, parent: "a", metric: 1.0), node("a2", 3, parent: "a", metric: 1.0),
        ])
        #expect(choose(mcts(exploration: 0), tree) == .improve(parentID: "a"))
    }

    @Test func mctsDescendsPastAFullyExpandedNode() {
        let tree = journal([
            node("a", 0, metric: 0.9), node("b", 1, metric: 0.1),
            node("a1", 2, parent: "a", metric: 1.0), node("a2", 3, parent: "a", metric: 0.2),
        ])
        // a has max_children (2) children: selection goes on to its better child.
        #expect(choose(mcts(maxChildren: 2), tree) == .improve(parentID: "a1"))
    }

    @Test func mctsDebugsABuggyLeafOnceAndStopsAtTheDepthLimit() {
        let tree = journal([node("a", 0, buggy: true)])
        #expect(choose(mcts(drafts: 1), tree) == .debug(parentID: "a"))
        // Its debug in flight: nothing else is open, so a new draft.
        #expect(choose(mcts(drafts: 1), tree, inFlight: [.debug(parentID: "a")]) == .draft)
        // A buggy node past the depth limit is a dead end.
        let deep = journal([node("a", 0, buggy: true, debugDepth: 3)])
        #expect(choose(mcts(drafts: 1, maxDebugDepth: 2), deep) == .draft)
    }

    @Test func mctsStepsInFlightCountAsVisitsSoWorkersSpreadOut() {
        // Equal drafts; a's improvement in flight is a visit with no value yet, so b goes next.
        let tree = journal([node("a", 0, metric: 0.5), node("b", 1, metric: 0.5)])
        #expect(choose(mcts(exploration: 0), tree, inFlight: [.improve(parentID: "a")]) == .improve(parentID: "b"))
    }

    // MARK: - Evolutionary

    private func evolution(
        drafts: Int = 2, debugProb: Double = 0, islands: Int = 2, migration: Int = 1000, crossover: Double = 0,
        tournament: Int = 100
    ) -> EvolutionaryPolicy {
        EvolutionaryPolicy(
            numDrafts: drafts, debugProb: debugProb, maxDebugDepth: 3, islands: islands, migrationInterval: migration,
            crossoverProb: crossover, tournamentSize: tournament)
    }

    /// Island 0: a (0.5), c (0.7, child of a), e buggy; island 1: b (0.9), d (0.3, child of b).
    private var islandTree: Journal {
        journal([
            node("a", 0, metric: 0.5), node("b", 1, metric: 0.9),
            node("c", 2, parent: "a", metric: 0.7), node("d", 3, parent: "b", metric: 0.3),
            node("e", 4, buggy: true),
        ])
    }

    @Test func evolutionPlacesDraftsByStepAndChildrenWithTheirParent() {
        let homes = evolution().islands(of: islandTree)
        #expect(homes == ["a": 0, "b": 1, "c": 0, "d": 1, "e": 0])
    }

    @Test func evolutionWorksOnTheStepsIslandAndPicksTheFittestParent() {
        // Tournaments of 100 draws from two nodes: the fitter is picked but for odds of 2^-100.
        #expect(choose(evolution(), islandTree, step: 6) == .improve(parentID: "c"))
        #expect(choose(evolution(), islandTree, step: 7) == .improve(parentID: "b"))
    }

    @Test func evolutionCrossesTwoParentsOfTheSameIsland() {
        let action = choose(evolution(crossover: 1), islandTree, step: 6)
        #expect(action == .crossover(parentID: "c", otherID: "a"))
        #expect(action.stage == .crossover && action.otherParentID == "a")
    }

    @Test func evolutionMigratesTheNeighboursBestIntoAnIsland() {
        // Step 6 is a migration step (interval 3) on island 0, whose neighbour is island 1.
        #expect(choose(evolution(migration: 3), islandTree, step: 6) == .crossover(parentID: "c", otherID: "b"))
        #expect(choose(evolution(migration: 3), islandTree, step: 9) == .crossover(parentID: "b", otherID: "c"))
    }

    @Test func evolutionDebugsOnlyItsOwnIslandsFreeBuggyLeaves() {
        #expect(choose(evolution(debugProb: 1), islandTree, step: 6) == .debug(parentID: "e"))
        // Island 1 has no buggy node: it improves instead.
        #expect(choose(evolution(debugProb: 1), islandTree, step: 7) == .improve(parentID: "b"))
        // e's debug already in flight: no second one.
        #expect(choose(evolution(debugProb: 1), islandTree, inFlight: [.debug(parentID: "e")], step: 6) == .improve(parentID: "c"))
    }

    @Test func evolutionDraftsOnAnIslandWithNoGoodNode() {
        let tree = journal([node("a", 0, metric: 0.5), node("b", 1, buggy: true)])
        #expect(choose(evolution(), tree, step: 3) == .draft)
        #expect(choose(evolution(), tree, step: 2) == .improve(parentID: "a"))
    }

    @Test func evolutionTournamentsFavourFitterParents() {
        // Two good nodes on one island, tournaments of two: the fitter wins 3 times in 4.
        let tree = journal([node("a", 0, metric: 0.9), node("b", 1, metric: 0.1)])
        let policy = evolution(drafts: 2, islands: 1, tournament: 2)
        var wins = 0
        for step in 2..<402 where choose(policy, tree, step: step) == .improve(parentID: "a") { wins += 1 }
        #expect((260...340).contains(wins), "a won \(wins) of 400")
    }

    @Test func everyPolicyNameMakesItsPolicyWithItsSettings() throws {
        for name in PolicyName.allCases {
            #expect(SearchSpec(policy: SearchPolicyChoice(name)).policy.name == name)
        }
        #expect(SearchSpec(policy: .greedy).makePolicy() is GreedyPolicy)
        let mcts = SearchSpec(policy: .mcts(MCTSSettings(exploration: 2, maxChildren: 5))).makePolicy() as? MCTSPolicy
        #expect(mcts?.exploration == 2 && mcts?.maxChildren == 5)
        let evolution = SearchSpec(policy: .evolutionary(EvolutionarySettings(islands: 4))).makePolicy() as? EvolutionaryPolicy
        #expect(evolution?.islands == 4 && evolution?.tournamentSize == 3)
    }

    /// A task file keeps its flat keys; only the chosen policy's settings are read, and a stored
    /// spec reads back the same.
    @Test func flatTaskKeysBecomeThePolicysSettings() throws {
        let json = #"{"policy": "mcts", "exploration": 0.5, "islands": 9, "num_drafts": 2}"#
        let spec = try JSONDecoder().decode(SearchSpec.self, from: Data(json.utf8))
        #expect(spec.policy == .mcts(MCTSSettings(exploration: 0.5, maxChildren: 3)) && spec.numDrafts == 2)
        #expect(try JSONDecoder().decode(SearchSpec.self, from: JSONEncoder().encode(spec)) == spec)
        let evolution = try JSONDecoder().decode(SearchSpec.self, from: Data(#"{"policy": "evolutionary", "islands": 9}"#.utf8))
        #expect(evolution.policy == .evolutionary(EvolutionarySettings(islands: 9)))
        #expect(try JSONDecoder().decode(SearchSpec.self, from: Data("{}".utf8)).policy == .greedy)
    }
}
