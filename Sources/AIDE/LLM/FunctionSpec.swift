import Foundation

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
            throw LLMError.invalidFunctionSpec("cannot read \(url.path): \(ErrorText.reason(error))")
        }
        do {
            let spec = try JSONDecoder().decode(FunctionSpec.self, from: data)
            try spec.validate()
            return spec
        } catch let error as LLMError {
            throw error
        } catch {
            throw LLMError.invalidFunctionSpec("\(url.path) is not a function spec {name, description, parameters}: \(error)")
        }
    }

    /// Checks the name and the schema before any call is made, so a bad spec never costs a request.
    public func validate() throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ allowed.contains($0) }) else {
            throw LLMError.invalidFunctionSpec(
                "function name '\(name)' must be 1-64 characters of letters, digits, '_' or '-'")
        }
        guard parameters["type"]?.stringValue == "object" else {
            throw LLMError.invalidFunctionSpec("parameters of '\(name)' must be a schema with \"type\": \"object\"")
        }
        try Self.validateSchema(parameters, at: "parameters")
    }

    private static let schemaTypes: Set<String> = ["object", "array", "string", "number", "integer", "boolean", "null"]

    private static func validateSchema(_ schema: JSONValue, at path: String) throws {
        guard let object = schema.objectValue else {
            if schema.boolValue != nil { return }  // true / false are valid schemas
            throw LLMError.invalidFunctionSpec("\(path) must be a JSON object (a schema), found \(schema.jsonText)")
        }
        if let type = object["type"] {
            let names: [JSONValue] = type.arrayValue ?? [type]
            for name in names {
                guard let text = name.stringValue, schemaTypes.contains(text) else {
                    throw LLMError.invalidFunctionSpec(
                        "\(path).type is \(name.jsonText); expected one of \(schemaTypes.sorted().joined(separator: ", "))")
                }
            }
        }
        if let properties = object["properties"] {
            guard let fields = properties.objectValue else {
                throw LLMError.invalidFunctionSpec("\(path).properties must be an object of schemas")
            }
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
                try validateSchema(value, at: "\(path).properties.\(key)")
            }
        }
        if let required = object["required"] {
            guard let names = required.arrayValue, names.allSatisfy({ $0.stringValue != nil }) else {
                throw LLMError.invalidFunctionSpec("\(path).required must be an array of property names")
            }
            let declared = object["properties"]?.objectValue ?? [:]
            for name in names.compactMap(\.stringValue) where declared[name] == nil {
                throw LLMError.invalidFunctionSpec("\(path).required names '\(name)', which is not in its properties")
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
                throw LLMError.invalidFunctionSpec("\(path).enum must be a non-empty array")
            }
        }
        for keyword in ["anyOf", "oneOf", "allOf"] {
            if let branches = object[keyword] {
                guard let list = branches.arrayValue, !list.isEmpty else {
                    throw LLMError.invalidFunctionSpec("\(path).\(keyword) must be a non-empty array of schemas")
                }
                for (index, branch) in list.enumerated() { try validateSchema(branch, at: "\(path).\(keyword)[\(index)]") }
            }
        }
    }
}
