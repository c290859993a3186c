import Foundation

/// A payload type's shape as JSON Schema (the subset events use: object, string, integer,
/// number, boolean, array), derived from an example value: its encoded JSON says each field's
/// type, the type's own stored properties (`Mirror`) say which fields are optional. An optional
/// field must be set in the example, or its type cannot be seen (an error says which).
public enum PayloadSchema {
    public struct Underivable: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public static func of<Payload: Encodable>(_ example: Payload, title: String) throws -> JSONValue {
        let json = try EventJSON.decoder().decode(JSONValue.self, from: EventJSON.encoder().encode(example))
        guard case .object(var schema) = try derive(json, from: example, path: title) else {
            throw Underivable(description: "\(title): a payload must encode as a JSON object")
        }
        schema["$schema"] = .string("https://json-schema.org/draft/2020-12/schema")
        schema["title"] = .string(title)
        return .object(schema)
    }

    private static func derive(_ json: JSONValue, from value: Any, path: String) throws -> JSONValue {
        switch json {
        case .null: throw Underivable(description: "\(path): is null in the example; give it a value so its type shows")
        case .bool: return .object(["type": .string("boolean")])
        case .integer: return .object(["type": .string("integer")])
        case .number: return .object(["type": .string("number")])
        case .string:
            return value is Date ? .object(["type": .string("string"), "format": .string("date-time")]) : .object(["type": .string("string")])
        case .array(let elements):
            let items = Mirror(reflecting: value).children.map(\.value)
            guard let first = elements.first, let firstValue = items.first else {
                throw Underivable(description: "\(path): is an empty array in the example; give it one element so its items show")
            }
            return .object(["type": .string("array"), "items": try derive(first, from: unwrapped(firstValue), path: "\(path)[]")])
        case .object(let fields):
            let mirror = Mirror(reflecting: value)
            guard mirror.displayStyle == .struct || mirror.displayStyle == .class else {
                throw Underivable(description: "\(path): only structs with their own property names can be described (not \(type(of: value)))")
            }
            var properties: [String: JSONValue] = [:]
            var required: [String] = []
            let stored = Dictionary(mirror.children.compactMap { child in child.label.map { ($0, child.value) } }) { first, _ in first }
            for (name, field) in fields {
                guard let property = stored[name] else {
                    throw Underivable(description: "\(path).\(name): no stored property of that name (custom coding keys are not supported)")
                }
                properties[name] = try derive(field, from: unwrapped(property), path: "\(path).\(name)")
                if !isOptional(property) { required.append(name) }
            }
            for (name, property) in stored where fields[name] == nil {
                throw Underivable(description: "\(path).\(name): \(isOptional(property) ? "is nil in the example; give it a value so its type shows" : "is not encoded")")
            }
            return .object([
                "type": .string("object"), "properties": .object(properties),
                "required": .array(required.sorted().map(JSONValue.string)),
            ])
        }
    }

    private static func isOptional(_ value: Any) -> Bool { Mirror(reflecting: value).displayStyle == .optional }

    private static func unwrapped(_ value: Any) -> Any {
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional, let wrapped = mirror.children.first?.value else { return value }
        return wrapped
    }
}
