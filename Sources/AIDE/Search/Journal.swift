import Foundation

/// The search tree so far: every finished node, with the queries policies need.
public struct Journal: Sendable, Hashable {
    public private(set) var nodes: [Node] = []
    public let direction: MetricDirection
    private var index: [String: Int] = [:]
    private var childCount: [String: Int] = [:]

    public init(direction: MetricDirection, nodes: [Node] = []) {
        self.direction = direction
        for node in nodes { append(node) }
    }

    public mutating func append(_ node: Node) {
        index[node.id] = nodes.count
        nodes.append(node)
        if let parent = node.parentID { childCount[parent, default: 0] += 1 }
    }

    public subscript(id: String) -> Node? {
        index[id].map { nodes[$0] }
    }

    public var count: Int { nodes.count }

    public var drafts: [Node] { nodes.filter { $0.stage == .draft } }

    public var goodNodes: [Node] { nodes.filter { !$0.isBuggy } }

    public var buggyNodes: [Node] { nodes.filter(\.isBuggy) }

    public func isLeaf(_ node: Node) -> Bool { childCount[node.id, default: 0] == 0 }

    /// Buggy leaves that have code and whose debug chain is still short enough to try again
    /// (`Node.isDebuggable`).
    public func debuggable(maxDebugDepth: Int) -> [Node] {
        buggyNodes.filter { isLeaf($0) && $0.isDebuggable(maxDebugDepth: maxDebugDepth) }
    }

    /// The good node with the best metric (earliest wins a tie).
    public var best: Node? {
        var best: Node?
        for node in goodNodes {
            guard let metric = node.metric else { continue }
            if let current = best?.metric, !direction.isBetter(metric, than: current) { continue }
            best = node
        }
        return best
    }

    /// The path from the root to a node, root first.
    public func path(to id: String) -> [Node] {
        var path: [Node] = []
        var current = self[id]
        while let node = current {
            path.append(node)
            current = node.parentID.flatMap { self[$0] }
        }
        return path.reversed()
    }

    /// The next free step number.
    public var nextStep: Int { (nodes.map(\.step).max() ?? -1) + 1 }
}

extension Node {
    /// Whether a debug step may take this node: it is buggy, has code to fix (a node whose answer
    /// held none is a dead end: "fix it" over an empty block asks nothing), and its debug depth is
    /// at most `maxDebugDepth` — aideml's rule (`<=`), so a draft gets up to `maxDebugDepth + 1`
    /// debug steps in a row.
    public func isDebuggable(maxDebugDepth: Int) -> Bool {
        isBuggy && !code.allSatisfy(\.isWhitespace) && debugDepth <= maxDebugDepth
    }
}

extension Journal {
    /// How good a node is on a 0...1 scale: buggy nodes 0; good nodes placed between the worst (0)
    /// and the best (1) good metric so far, whatever the metric's direction. Policies compare nodes
    /// and back up values with it.
    public func fitness() -> [String: Double] {
        let metrics = goodNodes.compactMap(\.metric)
        guard let low = metrics.min(), let high = metrics.max() else {
            return Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, 0) })
        }
        var result: [String: Double] = [:]
        for node in nodes {
            guard !node.isBuggy, let metric = node.metric else {
                result[node.id] = 0
                continue
            }
            if high == low {
                result[node.id] = 1
            } else {
                let scaled = (metric - low) / (high - low)
                result[node.id] = direction == .maximize ? scaled : 1 - scaled
            }
        }
        return result
    }

    /// Each node's children, in the order they were made; the drafts under `nil`.
    public func children() -> [String?: [Node]] {
        var result: [String?: [Node]] = [:]
        for node in nodes.sorted(by: { $0.step < $1.step }) { result[node.parentID, default: []].append(node) }
        return result
    }
}
