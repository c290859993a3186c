import Foundation

/// A service's OpenAPI document, composed from the library's part (health, metrics, streams,
/// operators' routes: `OpenAPI/<service>.json` in this module) and each context's part
/// (`BoundedContext.openAPI`, `{"paths", "components", "tags"}`). A path or a component two
/// parts define differently is an error, so one context cannot silently change another's API.
/// The service then checks the document against its routes (`OpenAPIContract`).
enum OpenAPIComposition {
    struct Conflict: Error, CustomStringConvertible {
        var description: String
    }

    static func base(_ kind: ServiceKind) -> [UInt8] {
        switch kind {
        case .commandService: PackageResources.command_service_json
        case .projectionService: PackageResources.projection_service_json
        case .sagaOrchestrator: PackageResources.saga_orchestrator_json
        }
    }

    static func document(_ kind: ServiceKind, suite: Suite) throws -> String {
        guard var document = try JSONSerialization.jsonObject(with: Data(base(kind))) as? [String: Any] else {
            throw Conflict(description: "the library's OpenAPI part of \(kind.rawValue) is not a JSON object")
        }
        if var info = document["info"] as? [String: Any], let title = info["title"] as? String {
            info["title"] = "\(suite.name): \(title)"
            document["info"] = info
        }
        for context in suite.contexts {
            guard let bytes = context.openAPI[kind] else { continue }
            guard let part = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
                throw Conflict(description: "the \(context.name) context's OpenAPI part of \(kind.rawValue) is not a JSON object")
            }
            try merge(part, into: &document, from: "the \(context.name) context")
        }
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    static func merge(_ part: [String: Any], into document: inout [String: Any], from source: String) throws {
        var paths = document["paths"] as? [String: Any] ?? [:]
        for (path, item) in part["paths"] as? [String: Any] ?? [:] {
            guard paths[path] == nil else { throw Conflict(description: "\(source) documents \(path), which another part documents too") }
            paths[path] = item
        }
        document["paths"] = paths
        var components = document["components"] as? [String: Any] ?? [:]
        for (kind, entries) in part["components"] as? [String: Any] ?? [:] {
            var existing = components[kind] as? [String: Any] ?? [:]
            for (name, value) in entries as? [String: Any] ?? [:] {
                if let old = existing[name], !NSDictionary(dictionary: ["v": old]).isEqual(to: ["v": value]) {
                    throw Conflict(description: "\(source) defines components.\(kind).\(name) differently from another part")
                }
                existing[name] = value
            }
            components[kind] = existing
        }
        document["components"] = components
        var tags = document["tags"] as? [[String: Any]] ?? []
        for tag in part["tags"] as? [[String: Any]] ?? [] where !tags.contains(where: { ($0["name"] as? String) == (tag["name"] as? String) }) {
            tags.append(tag)
        }
        document["tags"] = tags
    }
}
