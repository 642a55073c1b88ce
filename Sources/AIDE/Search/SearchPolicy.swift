/// What to do next: write a new solution, or work on an existing node.
public enum SearchAction: Sendable, Hashable {
    case draft
    case improve(parentID: String)
    case debug(parentID: String)
    /// Combine two good solutions; the first is the parent in the tree.
    case crossover(parentID: String, otherID: String)

    public var stage: Stage {
        switch self {
        case .draft: return .draft
        case .improve: return .improve
        case .debug: return .debug
        case .crossover: return .crossover
        }
    }

    public var parentID: String? {
        switch self {
        case .draft: return nil
        case .improve(let id), .debug(let id), .crossover(let id, _): return id
        }
    }

    /// The action that made `node` (its stage and parents).
    public init(of node: Node) {
        switch node.stage {
        case .draft: self = .draft
        case .improve: self = .improve(parentID: node.parentID ?? "")
        case .debug: self = .debug(parentID: node.parentID ?? "")
        case .crossover: self = .crossover(parentID: node.parentID ?? "", otherID: node.otherParentID ?? "")
        }
    }

    /// The second parent of a crossover.
    public var otherParentID: String? {
        if case .crossover(_, let other) = self { return other }
        return nil
    }
}

/// Chooses the next action from the tree. `inFlight` lists the actions already handed out and not
/// yet finished, so a policy never debugs the same node twice at once and counts drafts in flight.
/// `step` is the number the new node will have. A policy keeps no state of its own: everything it
/// knows comes from the journal, so a resumed run chooses as the original would have.
public protocol SearchPolicy: Sendable {
    func next(journal: Journal, inFlight: [SearchAction], step: Int, random: inout SeededRandom) -> SearchAction
}

/// AIDE's greedy rule: draft until `numDrafts` drafts exist; then, with probability `debugProb`,
/// debug a buggy leaf with code whose debug depth is at most `maxDebugDepth` (aideml's `<=`); else improve the best good node;
/// else draft.
public struct GreedyPolicy: SearchPolicy {
    public var numDrafts: Int
    public var debugProb: Double
    public var maxDebugDepth: Int

    public init(numDrafts: Int, debugProb: Double, maxDebugDepth: Int) {
        self.numDrafts = numDrafts
        self.debugProb = debugProb
        self.maxDebugDepth = maxDebugDepth
    }

    public init(_ spec: SearchSpec) {
        self.init(numDrafts: spec.numDrafts, debugProb: spec.debugProb, maxDebugDepth: spec.maxDebugDepth)
    }

    public func next(journal: Journal, inFlight: [SearchAction], step: Int, random: inout SeededRandom) -> SearchAction {
        let draftsInFlight = inFlight.filter { $0 == .draft }.count
        if journal.drafts.count + draftsInFlight < numDrafts { return .draft }

        if Double.random(in: 0..<1, using: &random) < debugProb {
            let busy = Set(inFlight.compactMap(\.parentID))
            let candidates = journal.debuggable(maxDebugDepth: maxDebugDepth).filter { !busy.contains($0.id) }
            if let chosen = candidates.randomElement(using: &random) { return .debug(parentID: chosen.id) }
        }
        if let best = journal.best { return .improve(parentID: best.id) }
        return .draft
    }
}
