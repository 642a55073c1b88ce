import Foundation

/// What is wrong with a function spec (`LLMError.invalidFunctionSpec`); `path` is where in the
/// schema (`parameters.properties.score.type`).
public enum FunctionSpecProblem: Sendable, Hashable, CustomStringConvertible {
    /// The spec file cannot be read (`reason`: `ErrorText.reason`), or is no spec (the decoding error's words).
    case unreadable(file: String, reason: String)
    case notASpec(file: String, reason: String)
    /// A name providers refuse.
    case badName(String)
    /// The parameters are not an object schema.
    case parametersNotObject(function: String)
    /// A schema that is not a JSON object (nor true / false); `found`: the JSON given.
    case notASchema(path: String, found: String)
    /// A `type` outside JSON Schema's.
    case badType(path: String, found: String)
    case propertiesNotObject(path: String)
    case requiredNotNames(path: String)
    /// `required` names a property the schema does not declare.
    case requiredUndeclared(path: String, name: String)
    case emptyEnum(path: String)
    /// An empty `anyOf`, `oneOf` or `allOf`.
    case emptyBranches(path: String, keyword: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): return "cannot read \(file): \(reason)"
        case .notASpec(let file, let reason): return "\(file) is not a function spec {name, description, parameters}: \(reason)"
        case .badName(let name): return "function name '\(name)' must be 1-64 characters of letters, digits, '_' or '-'"
        case .parametersNotObject(let function): return "parameters of '\(function)' must be a schema with \"type\": \"object\""
        case .notASchema(let path, let found): return "\(path) must be a JSON object (a schema), found \(found)"
        case .badType(let path, let found):
            return "\(path).type is \(found); expected one of \(FunctionSpec.schemaTypes.sorted().joined(separator: ", "))"
        case .propertiesNotObject(let path): return "\(path).properties must be an object of schemas"
        case .requiredNotNames(let path): return "\(path).required must be an array of property names"
        case .requiredUndeclared(let path, let name): return "\(path).required names '\(name)', which is not in its properties"
        case .emptyEnum(let path): return "\(path).enum must be a non-empty array"
        case .emptyBranches(let path, let keyword): return "\(path).\(keyword) must be a non-empty array of schemas"
        }
    }
}

/// A function the model is forced to call: its arguments become the query's output.
public struct FunctionSpec: Sendable, Hashable, Codable {
    public var name: String
    public var description: String
    /// JSON Schema of the arguments; its top level must be an object schema.
    public var parameters: JSONValue

    public init(name: String, description: String, parameters: JSONValue) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }

    /// Reads a spec file: `{"name": …, "description": …, "parameters": {…}}`.
    public static func load(from url: URL) throws -> FunctionSpec {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw LLMError.invalidFunctionSpec(.unreadable(file: url.path, reason: ErrorText.reason(error)))
        }
        do {
            let spec = try JSONDecoder().decode(FunctionSpec.self, from: data)
            try spec.validate()
            return spec
        } catch let error as LLMError {
            throw error
        } catch {
            throw LLMError.invalidFunctionSpec(.notASpec(file: url.path, reason: "\(error)"))
        }
    }

    /// Checks the name and the schema before any call is made, so a bad spec never costs a request.
    public func validate() throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ allowed.contains($0) }) else {
            throw LLMError.invalidFunctionSpec(.badName(name))
        }
        guard parameters["type"]?.stringValue == "object" else {
            throw LLMError.invalidFunctionSpec(.parametersNotObject(function: name))
        }
        try Self.validateSchema(parameters, at: "parameters")
    }

    static let schemaTypes: Set<String> = ["object", "array", "string", "number", "integer", "boolean", "null"]

    private static func validateSchema(_ schema: JSONValue, at path: String) throws {
        guard let object = schema.objectValue else {
            if schema.boolValue != nil { return }  // true / false are valid schemas
            throw LLMError.invalidFunctionSpec(.notASchema(path: path, found: schema.jsonText))
        }
        if let type = object["type"] {
            let names: [JSONValue] = type.arrayValue ?? [type]
            for name in names {
                guard let text = name.stringValue, schemaTypes.contains(text) else {
                    throw LLMError.invalidFunctionSpec(.badType(path: path, found: name.jsonText))
                }
            }
        }
        if let properties = object["properties"] {
            guard let fields = properties.objectValue else {
                throw LLMError.invalidFunctionSpec(.propertiesNotObject(path: path))
            }
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
                try validateSchema(value, at: "\(path).properties.\(key)")
            }
        }
        if let required = object["required"] {
            guard let names = required.arrayValue, names.allSatisfy({ $0.stringValue != nil }) else {
                throw LLMError.invalidFunctionSpec(.requiredNotNames(path: path))
            }
            let declared = object["properties"]?.objectValue ?? [:]
            for name in names.compactMap(\.stringValue) where declared[name] == nil {
                throw LLMError.invalidFunctionSpec(.requiredUndeclared(path: path, name: name))
            }
        }
        if let items = object["items"] {
            if let list = items.arrayValue {
                for (index, item) in list.enumerated() { try validateSchema(item, at: "\(path).items[\(index)]") }
            } else {
                try validateSchema(items, at: "\(path).items")
            }
        }
        if let values = object["enum"] {
            guard let list = values.arrayValue, !list.isEmpty else {
                throw LLMError.invalidFunctionSpec(.emptyEnum(path: path))
            }
        }
        for keyword in ["anyOf", "oneOf", "allOf"] {
            if let branches = object[keyword] {
                guard let list = branches.arrayValue, !list.isEmpty else {
                    throw LLMError.invalidFunctionSpec(.emptyBranches(path: path, keyword: keyword))
                }
                for (index, branch) in list.enumerated() { try validateSchema(branch, at: "\(path).\(keyword)[\(index)]") }
            }
        }
    }
}
