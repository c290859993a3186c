/// What changed between an event's committed JSON Schema and the one its Swift type now has,
/// field by field, and the message the compatibility gate shows for it.
public enum SchemaCompatibility {
    public struct Change: Equatable, Sendable, CustomStringConvertible {
        public enum Kind: Equatable, Sendable {
            case removed
            case added(required: Bool)
            case typeChanged(from: String, to: String)
            case becameRequired
            case becameOptional
        }

        /// The field's path (`lines[].price`).
        public var field: String
        public var kind: Kind

        public init(field: String, kind: Kind) {
            self.field = field
            self.kind = kind
        }

        public var description: String {
            switch kind {
            case .removed: "field `\(field)` removed"
            case .added(let required): "field `\(field)` added (\(required ? "required" : "optional"))"
            case .typeChanged(let from, let to): "field `\(field)` changed type from \(from) to \(to)"
            case .becameRequired: "field `\(field)` became required"
            case .becameOptional: "field `\(field)` became optional"
            }
        }
    }

    public static func changes(from committed: JSONValue, to current: JSONValue) -> [Change] {
        compare(committed, current, path: "")
    }

    /// The gate's message: which event, which fields, and what to do.
    public static func message(type: String, version: Int, changes: [Change]) -> String {
        """
        event \(type) v\(version) changed without a new schema version: \(changes.map(\.description).joined(separator: "; ")). \
        A stored event never changes, so its shape may change only with a new version: give \(type) schema version \(version + 1) \
        in its codec, add Upcaster(type: "\(type)", fromVersion: \(version)) turning a v\(version) payload into v\(version + 1), \
        add the fixture Tests/Fixtures/events/\(type).v\(version).json (a stored v\(version) payload), and commit \
        schemas/\(type).v\(version + 1).json (the gate prints it); schemas/\(type).v\(version).json stays as it is. See "Event schemas" in docs/architecture.md.
        """
    }

    private static func compare(_ old: JSONValue, _ new: JSONValue, path: String) -> [Change] {
        let oldType = typeName(old)
        let newType = typeName(new)
        guard oldType == newType else { return [Change(field: path, kind: .typeChanged(from: oldType, to: newType))] }
        switch oldType {
        case "array":
            return compare(old["items"] ?? .null, new["items"] ?? .null, path: "\(path)[]")
        case "object":
            let oldFields = properties(old)
            let newFields = properties(new)
            let oldRequired = required(old)
            let newRequired = required(new)
            var changes: [Change] = []
            for name in Set(oldFields.keys).union(newFields.keys).sorted() {
                let field = path.isEmpty ? name : "\(path).\(name)"
                switch (oldFields[name], newFields[name]) {
                case (.some, .none): changes.append(Change(field: field, kind: .removed))
                case (.none, .some): changes.append(Change(field: field, kind: .added(required: newRequired.contains(name))))
                case (.some(let before), .some(let after)):
                    changes += compare(before, after, path: field)
                    if !oldRequired.contains(name) && newRequired.contains(name) { changes.append(Change(field: field, kind: .becameRequired)) }
                    if oldRequired.contains(name) && !newRequired.contains(name) { changes.append(Change(field: field, kind: .becameOptional)) }
                case (.none, .none): break
                }
            }
            return changes
        default:
            return old["format"] == new["format"] ? [] : [Change(field: path, kind: .typeChanged(from: describe(old), to: describe(new)))]
        }
    }

    private static func typeName(_ schema: JSONValue) -> String {
        if case .string(let name) = schema["type"] { return name }
        return "unknown"
    }

    private static func describe(_ schema: JSONValue) -> String {
        if case .string(let format) = schema["format"] { return "\(typeName(schema)) (\(format))" }
        return typeName(schema)
    }

    private static func properties(_ schema: JSONValue) -> [String: JSONValue] {
        if case .object(let fields) = schema["properties"] { return fields }
        return [:]
    }

    private static func required(_ schema: JSONValue) -> Set<String> {
        guard case .array(let names) = schema["required"] else { return [] }
        return Set(names.compactMap { if case .string(let name) = $0 { name } else { nil } })
    }
}
