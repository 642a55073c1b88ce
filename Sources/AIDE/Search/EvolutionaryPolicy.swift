import Foundation

/// An island-model evolutionary search.
///
/// The population is split into `islands`. Steps visit the islands in turn (step `s` works on island
/// `s % islands`); a draft made at step `s` founds a lineage on that island, and every other node
/// lives on its (first) parent's island. On its island a step:
/// - drafts while the run has fewer than `numDrafts` drafts, or the island has no good node yet;
/// - every `migrationInterval` steps, takes in its neighbour's best: a crossover of the island's
///   best with the best of island `i - 1` (the child stays on island `i`);
/// - else, with `debugProb`, debugs one of the island's buggy leaves;
/// - else, with `crossoverProb`, crosses two parents chosen by tournament;
/// - else improves one parent chosen by tournament (the fittest of `tournamentSize` random picks).
public struct EvolutionaryPolicy: SearchPolicy {
    public var numDrafts: Int
    public var debugProb: Double
    public var maxDebugDepth: Int
    public var islands: Int
    public var migrationInterval: Int
    public var crossoverProb: Double
    public var tournamentSize: Int

    public init(
        numDrafts: Int, debugProb: Double, maxDebugDepth: Int, islands: Int, migrationInterval: Int,
        crossoverProb: Double, tournamentSize: Int
    ) {
        self.numDrafts = numDrafts
        self.debugProb = debugProb
        self.maxDebugDepth = maxDebugDepth
        self.islands = max(1, islands)
        self.migrationInterval = max(1, migrationInterval)
        self.crossoverProb = crossoverProb
        self.tournamentSize = max(1, tournamentSize)
    }

    public init(_ spec: SearchSpec, _ settings: EvolutionarySettings) {
        self.init(
            numDrafts: spec.numDrafts, debugProb: spec.debugProb, maxDebugDepth: spec.maxDebugDepth,
            islands: settings.islands, migrationInterval: settings.migrationInterval,
            crossoverProb: settings.crossoverProb, tournamentSize: settings.tournamentSize)
    }

    public func next(journal: Journal, inFlight: [SearchAction], step: Int, random: inout SeededRandom) -> SearchAction {
        let draftsInFlight = inFlight.filter { $0 == .draft }.count
        if journal.drafts.count + draftsInFlight < numDrafts { return .draft }

        let island = step % islands
        let homes = self.islands(of: journal)
        let members = journal.nodes.filter { homes[$0.id] == island }
        let good = members.filter { !$0.isBuggy && $0.metric != nil }
        guard let best = fittest(good, direction: journal.direction) else { return .draft }

        if islands > 1, step % migrationInterval == 0 {
            let neighbour = (island + islands - 1) % islands
            let theirs = journal.nodes.filter { homes[$0.id] == neighbour && !$0.isBuggy && $0.metric != nil }
            if let migrant = fittest(theirs, direction: journal.direction) {
                return .crossover(parentID: best.id, otherID: migrant.id)
            }
        }
        if Double.random(in: 0..<1, using: &random) < debugProb {
            let busy = Set(inFlight.compactMap(\.parentID))
            let candidates = members.filter {
                journal.isLeaf($0) && $0.isDebuggable(maxDebugDepth: maxDebugDepth) && !busy.contains($0.id)
            }
            if let chosen = candidates.randomElement(using: &random) { return .debug(parentID: chosen.id) }
        }
        let first = tournament(good, direction: journal.direction, random: &random)
        if good.count >= 2, Double.random(in: 0..<1, using: &random) < crossoverProb {
            let second = tournament(good.filter { $0.id != first.id }, direction: journal.direction, random: &random)
            return .crossover(parentID: first.id, otherID: second.id)
        }
        return .improve(parentID: first.id)
    }

    /// The island of every node: a draft's from its step, any other node's from its first parent.
    public func islands(of journal: Journal) -> [String: Int] {
        var home: [String: Int] = [:]
        for node in journal.nodes.sorted(by: { $0.step < $1.step }) {
            home[node.id] = node.parentID.flatMap { home[$0] } ?? node.step % islands
        }
        return home
    }

    /// The fittest of `tournamentSize` nodes drawn (with replacement) from a non-empty `pool`.
    func tournament(_ pool: [Node], direction: MetricDirection, random: inout SeededRandom) -> Node {
        var drawn: [Node] = []
        for _ in 0..<tournamentSize { drawn.append(pool.randomElement(using: &random)!) }
        return fittest(drawn, direction: direction)!
    }

    /// The node with the best metric; the earliest step wins a tie.
    func fittest(_ nodes: [Node], direction: MetricDirection) -> Node? {
        nodes.min { a, b in
            if a.metric == b.metric { return a.step < b.step }
            return direction.isBetter(a.metric!, than: b.metric!)
        }
    }
}
