import Foundation

/// Monte-Carlo tree search over the solution tree (as in AIRA-dojo and ML-Master).
///
/// The tree is rebuilt from the journal at each choice: a node's visits are itself, its descendants
/// and the steps in flight below it (a virtual loss, so parallel workers spread out); its value is
/// the sum of the fitness (`Journal.fitness`) of its subtree, i.e. every node's score backed up
/// along its path. Selection descends from the root by UCT,
/// `Q + exploration · sqrt(ln N(parent) / N(child))`, to the first node that can still be
/// expanded, and expands it: the root by a draft, a good node by an improvement (until it has
/// `maxChildren`), a buggy leaf by a debug (while it has code and its debug depth is at most `maxDebugDepth`).
public struct MCTSPolicy: SearchPolicy {
    public var numDrafts: Int
    public var maxDebugDepth: Int
    public var exploration: Double
    public var maxChildren: Int

    public init(numDrafts: Int, maxDebugDepth: Int, exploration: Double, maxChildren: Int) {
        self.numDrafts = numDrafts
        self.maxDebugDepth = maxDebugDepth
        self.exploration = exploration
        self.maxChildren = maxChildren
    }

    public init(_ spec: SearchSpec, _ settings: MCTSSettings) {
        self.init(
            numDrafts: spec.numDrafts, maxDebugDepth: spec.maxDebugDepth, exploration: settings.exploration,
            maxChildren: settings.maxChildren)
    }

    public func next(journal: Journal, inFlight: [SearchAction], step: Int, random: inout SeededRandom) -> SearchAction {
        var tree = Tree(journal: journal, inFlight: inFlight)
        if journal.drafts.count + tree.pending(under: nil) < numDrafts { return .draft }
        for node in journal.nodes.sorted(by: { $0.step > $1.step })
        where expansion(of: node, in: tree) != nil || tree.children(of: node.id).contains(where: { tree.isOpen($0.id) }) {
            tree.open.insert(node.id)
        }

        var current: Node?
        while true {
            if let current, let action = expansion(of: current, in: tree) { return action }
            let candidates = tree.children(of: current?.id).filter { tree.isOpen($0.id) }
            guard !candidates.isEmpty else { return .draft }
            let parentVisits = Double(current.map { tree.visits[$0.id]! } ?? tree.rootVisits)
            var best: [Node] = []
            var bestScore = -Double.infinity
            for child in candidates {
                let visits = Double(tree.visits[child.id]!)
                let score = tree.total[child.id]! / visits + exploration * (log(parentVisits) / visits).squareRoot()
                if score > bestScore + 1e-12 {
                    (best, bestScore) = ([child], score)
                } else if abs(score - bestScore) <= 1e-12 {
                    best.append(child)
                }
            }
            current = best.randomElement(using: &random)!
        }
    }

    /// What expanding `node` means, or nil when it is fully expanded (or a dead end).
    func expansion(of node: Node, in tree: Tree) -> SearchAction? {
        let made = tree.children(of: node.id).count + tree.pending(under: node.id)
        if node.isBuggy {
            return made == 0 && node.isDebuggable(maxDebugDepth: maxDebugDepth) ? .debug(parentID: node.id) : nil
        }
        return made < maxChildren ? .improve(parentID: node.id) : nil
    }

    /// The journal seen as a tree with visit counts and backed-up values.
    struct Tree {
        let children: [String?: [Node]]
        let pendingByParent: [String?: Int]
        let visits: [String: Int]
        let total: [String: Double]
        /// Nodes that are expandable, or have an expandable node below them.
        var open: Set<String> = []
        let rootVisits: Int

        init(journal: Journal, inFlight: [SearchAction]) {
            children = journal.children()
            var pending: [String?: Int] = [:]
            for action in inFlight { pending[action.parentID, default: 0] += 1 }
            pendingByParent = pending
            let fitness = journal.fitness()
            var visits: [String: Int] = [:]
            var total: [String: Double] = [:]
            // Children always come after their parents, so one pass from the last step back sums
            // every subtree.
            for node in journal.nodes.sorted(by: { $0.step > $1.step }) {
                let kids = children[node.id] ?? []
                visits[node.id] = 1 + pending[node.id, default: 0] + kids.reduce(0) { $0 + visits[$1.id]! }
                total[node.id] = fitness[node.id, default: 0] + kids.reduce(0) { $0 + total[$1.id]! }
            }
            rootVisits = max(1, pending[nil, default: 0] + (children[nil] ?? []).reduce(0) { $0 + visits[$1.id]! })
            self.visits = visits
            self.total = total
        }

        func children(of id: String?) -> [Node] { children[id] ?? [] }

        func pending(under id: String?) -> Int { pendingByParent[id, default: 0] }

        func isOpen(_ id: String) -> Bool { open.contains(id) }
    }
}
