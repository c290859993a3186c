import Foundation
public import Hummingbird

/// A service's OpenAPI document (served at `GET /openapi.json`) and the check that keeps it
/// true: the operations it documents must be exactly the routes the service registers, or the
/// service refuses to start (so every test that starts a service catches a drift).
public enum OpenAPIContract {
    public struct Mismatch: Error, CustomStringConvertible {
        public var undocumented: [String]
        public var unrouted: [String]
        public var description: String {
            var parts: [String] = []
            if !undocumented.isEmpty { parts.append("routed but not in the OpenAPI document: \(undocumented.joined(separator: ", "))") }
            if !unrouted.isEmpty { parts.append("in the OpenAPI document but not routed: \(unrouted.joined(separator: ", "))") }
            return parts.joined(separator: "; ") + " (edit the OpenAPI part of the library or of the context that routes it)"
        }
    }

    public struct Unreadable: Error, CustomStringConvertible {
        public var description: String
    }

    static let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    /// "GET /items/{itemId}" for every operation of the document.
    public static func operations(inDocument json: String) throws(Unreadable) -> Set<String> {
        guard let document = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any],
            let paths = document["paths"] as? [String: Any]
        else { throw Unreadable(description: "the OpenAPI document is not a JSON object with paths") }
        var operations: Set<String> = []
        for (path, item) in paths {
            guard let item = item as? [String: Any] else { throw Unreadable(description: "path \(path) is not an object") }
            for method in item.keys where methods.contains(method) { operations.insert("\(method.uppercased()) \(path)") }
        }
        return operations
    }

    /// "GET /items/{itemId}" for a route registered as `GET /items/:itemId`.
    public static func operation(method: String, path: String) -> String {
        let components = path.split(separator: "/", omittingEmptySubsequences: true).map { component in
            component.hasPrefix(":") ? "{\(component.dropFirst())}" : String(component)
        }
        return "\(method.uppercased()) /\(components.joined(separator: "/"))"
    }

    /// Throws `Mismatch` unless `document` describes exactly `routes` (`(method, path)`).
    public static func verify(document: String, routes: [(method: String, path: String)]) throws {
        let documented = try operations(inDocument: document)
        let routed = Set(routes.map { operation(method: $0.method, path: $0.path) })
        guard documented == routed else {
            throw Mismatch(undocumented: routed.subtracting(documented).sorted(), unrouted: documented.subtracting(routed).sorted())
        }
    }
}

extension Router {
    /// Serves `document` at `GET /openapi.json` and checks it against every route registered
    /// so far (register it last).
    public func addOpenAPIDocument(_ document: String) throws {
        get("/openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: document)))
        }
        try OpenAPIContract.verify(document: document, routes: routes.map { (method: $0.method.rawValue, path: "\($0.path)") })
    }
}
