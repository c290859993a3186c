import ServiceHTTP
import ServiceSupport
import Testing

/// The check that keeps each service's OpenAPI document true to its routes.
@Suite("OpenAPI contract")
struct OpenAPIContractTests {
    static let document = """
        {"openapi": "3.1.0", "paths": {
          "/orders": {"post": {}, "parameters": []},
          "/orders/{orderId}/cancel": {"post": {}},
          "/streams/{streamId}/events": {"get": {}}
        }}
        """

    @Test("a route registered as /a/:b is the documented operation /a/{b}; non-method keys are not operations")
    func operationsMatch() throws {
        #expect(OpenAPIContract.operation(method: "get", path: "/streams/:streamId/events") == "GET /streams/{streamId}/events")
        #expect(try OpenAPIContract.operations(inDocument: Self.document) == ["POST /orders", "POST /orders/{orderId}/cancel", "GET /streams/{streamId}/events"])
        try OpenAPIContract.verify(
            document: Self.document,
            routes: [("POST", "/orders"), ("POST", "/orders/:orderId/cancel"), ("GET", "/streams/:streamId/events")])
    }

    @Test("a route missing from the document, or a documented operation with no route, stops the service with both named")
    func driftIsNamed() throws {
        let error = #expect(throws: OpenAPIContract.Mismatch.self) {
            try OpenAPIContract.verify(document: Self.document, routes: [("POST", "/orders"), ("GET", "/orders/:orderId"), ("GET", "/streams/:streamId/events")])
        }
        #expect(error?.undocumented == ["GET /orders/{orderId}"])
        #expect(error?.unrouted == ["POST /orders/{orderId}/cancel"])
        #expect(error?.description.contains("OpenAPI part") == true)
    }

    @Test("a document that is not JSON with paths is refused")
    func unreadableDocument() {
        #expect(throws: OpenAPIContract.Unreadable.self) { try OpenAPIContract.operations(inDocument: "{\"openapi\": \"3.1.0\"}") }
        #expect(throws: OpenAPIContract.Unreadable.self) { try OpenAPIContract.operations(inDocument: "not json") }
    }
}
