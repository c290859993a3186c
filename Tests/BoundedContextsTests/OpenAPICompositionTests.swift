@testable import BoundedContexts
import Foundation
import Testing

/// A service's document is the library's part plus each context's; a context cannot silently
/// redefine what another part documents.
@Suite("OpenAPI composition")
struct OpenAPICompositionTests {
    static func context(_ name: String, _ part: String) -> BoundedContext {
        BoundedContext(name: name, openAPI: [.projectionService: Array(part.utf8)])
    }

    static let rooms = #"{"paths": {"/rooms/{roomId}": {"get": {}}}, "components": {"schemas": {"Room": {"type": "object"}}}, "tags": [{"name": "rooms"}]}"#

    @Test("each context's paths, components and tags join the library's")
    func merges() throws {
        let suite = Suite(name: "hotel", contexts: [Self.context("booking", Self.rooms)])
        let document = try OpenAPIComposition.document(.projectionService, suite: suite)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any])
        let paths = try #require(json["paths"] as? [String: Any])
        #expect(paths["/rooms/{roomId}"] != nil)
        #expect(paths["/admin/dead-letters"] != nil, "the library's own operations stay")
        #expect(((json["components"] as? [String: Any])?["schemas"] as? [String: Any])?["Room"] != nil)
        #expect((json["info"] as? [String: Any])?["title"] as? String == "hotel: Projection service")
    }

    @Test("a path documented twice, or a component defined differently, is refused naming the context")
    func conflicts() {
        let samePath = Suite(name: "hotel", contexts: [Self.context("booking", Self.rooms), Self.context("cleaning", #"{"paths": {"/rooms/{roomId}": {"post": {}}}}"#)])
        let error = #expect(throws: OpenAPIComposition.Conflict.self) { try OpenAPIComposition.document(.projectionService, suite: samePath) }
        #expect(error?.description.contains("cleaning") == true)
        let otherSchema = Suite(
            name: "hotel",
            contexts: [Self.context("booking", Self.rooms), Self.context("cleaning", #"{"components": {"schemas": {"Room": {"type": "string"}}}}"#)])
        #expect(throws: OpenAPIComposition.Conflict.self) { try OpenAPIComposition.document(.projectionService, suite: otherSchema) }
        let sameSchema = Suite(
            name: "hotel",
            contexts: [Self.context("booking", Self.rooms), Self.context("cleaning", #"{"components": {"schemas": {"Room": {"type": "object"}}}}"#)])
        #expect(throws: Never.self) { try OpenAPIComposition.document(.projectionService, suite: sameSchema) }
    }
}
