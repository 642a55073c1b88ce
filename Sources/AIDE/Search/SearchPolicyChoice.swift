import Foundation

/// The policies a task may name (`search.policy`).
public enum PolicyName: String, Sendable, Hashable, Codable, CaseIterable {
    case greedy
    case mcts
    case evolutionary
}

/// The search policy a task chose, with that policy's own settings (one settings type per policy,
/// as AIRA-dojo has a config per solver). In a task file the settings stay flat keys of `search`
/// (`search.exploration`, `search.islands`, …); only the chosen policy's are read.
public enum SearchPolicyChoice: Sendable, Hashable {
    case greedy
    case mcts(MCTSSettings)
    case evolutionary(EvolutionarySettings)

    /// The policy's name with its default settings.
    public init(_ name: PolicyName) {
        switch name {
        case .greedy: self = .greedy
        case .mcts: self = .mcts(MCTSSettings())
        case .evolutionary: self = .evolutionary(EvolutionarySettings())
        }
    }

    public var name: PolicyName {
        switch self {
        case .greedy: return .greedy
        case .mcts: return .mcts
        case .evolutionary: return .evolutionary
        }
    }
}

/// MCTS's settings.
public struct MCTSSettings: Sendable, Hashable {
    /// The UCT exploration constant.
    public var exploration: Double
    /// Children a node gets before selection descends past it.
    public var maxChildren: Int

    public init(exploration: Double = 1.0, maxChildren: Int = 3) {
        self.exploration = exploration
        self.maxChildren = maxChildren
    }
}

/// The evolutionary policy's settings.
public struct EvolutionarySettings: Sendable, Hashable {
    /// Number of islands (sub-populations).
    public var islands: Int
    /// Every this many steps, an island takes in the best of its neighbour.
    public var migrationInterval: Int
    /// Chance that a step crosses two parents instead of improving one.
    public var crossoverProb: Double
    /// Parents are the fittest of this many nodes drawn from the island.
    public var tournamentSize: Int

    public init(islands: Int = 2, migrationInterval: Int = 6, crossoverProb: Double = 0.3, tournamentSize: Int = 3) {
        self.islands = islands
        self.migrationInterval = migrationInterval
        self.crossoverProb = crossoverProb
        self.tournamentSize = tournamentSize
    }
}

extension SearchSpec {
    /// The policy the task names, with its settings.
    public func makePolicy() -> any SearchPolicy {
        switch policy {
        case .greedy: return GreedyPolicy(self)
        case .mcts(let settings): return MCTSPolicy(self, settings)
        case .evolutionary(let settings): return EvolutionaryPolicy(self, settings)
        }
    }

    /// Reads `policy` and the chosen policy's settings from a search section's flat keys.
    static func decodePolicy(_ c: KeyedDecodingContainer<CodingKeys>) throws -> SearchPolicyChoice {
        switch try c.decodeIfPresent(PolicyName.self, forKey: .policy) ?? .greedy {
        case .greedy:
            return .greedy
        case .mcts:
            let d = MCTSSettings()
            return .mcts(
                MCTSSettings(
                    exploration: try c.decodeIfPresent(Double.self, forKey: .exploration) ?? d.exploration,
                    maxChildren: try c.decodeIfPresent(Int.self, forKey: .maxChildren) ?? d.maxChildren))
        case .evolutionary:
            let d = EvolutionarySettings()
            return .evolutionary(
                EvolutionarySettings(
                    islands: try c.decodeIfPresent(Int.self, forKey: .islands) ?? d.islands,
                    migrationInterval: try c.decodeIfPresent(Int.self, forKey: .migrationInterval) ?? d.migrationInterval,
                    crossoverProb: try c.decodeIfPresent(Double.self, forKey: .crossoverProb) ?? d.crossoverProb,
                    tournamentSize: try c.decodeIfPresent(Int.self, forKey: .tournamentSize) ?? d.tournamentSize))
        }
    }

    /// Writes `policy` and its settings as the flat keys `decodePolicy` reads.
    func encodePolicy(_ c: inout KeyedEncodingContainer<CodingKeys>) throws {
        try c.encode(policy.name, forKey: .policy)
        switch policy {
        case .greedy:
            break
        case .mcts(let settings):
            try c.encode(settings.exploration, forKey: .exploration)
            try c.encode(settings.maxChildren, forKey: .maxChildren)
        case .evolutionary(let settings):
            try c.encode(settings.islands, forKey: .islands)
            try c.encode(settings.migrationInterval, forKey: .migrationInterval)
            try c.encode(settings.crossoverProb, forKey: .crossoverProb)
            try c.encode(settings.tournamentSize, forKey: .tournamentSize)
        }
    }
}
