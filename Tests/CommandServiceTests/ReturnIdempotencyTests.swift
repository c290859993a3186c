@testable import BoundedContexts
import CheckoutSuite
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SuiteTesting
import Testing

/// A client that lost the answer to a return sends it again with the same Idempotency-Key:
/// it gets the first answer, although the first return changed what is left to return.
@Suite("Returns: Idempotency-Key")
struct ReturnIdempotencyTests {
    @Test("a repeated return (same key, same body) answers the first 201 and appends nothing; another body with the key is refused")
    func repeatAnswersTheFirst() async throws {
        try await TestDatabase.withFresh { client, _ in
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            try await HostileInputTests.bought(client)
            let router = Router()
            try CommandSides(checkoutSuite, CommandEnvironment(store: store)).register(
                on: ContextRouter(router: router, service: .commandService, adminToken: nil, client: client, logger: testLogger("routes"), maxCommandsInFlight: 256))
            let key = HTTPField.Name("Idempotency-Key")
            try await Application(router: router).test(.router) { http in
                func post(_ body: String) async throws -> TestResponse {
                    var headers = HTTPFields()
                    if let key { headers[key] = "k-1" }
                    return try await http.execute(uri: "/orders/o1/returns", method: .post, headers: headers, body: ByteBuffer(string: body))
                }
                let body = #"{"lines":[{"sku":"PEN","quantity":2}],"reason":"too many"}"#
                let first = try await post(body)
                #expect(first.status == .created, "\(String(buffer: first.body))")
                let again = try await post(body)
                #expect(again.status == .created, "the repeat: \(String(buffer: again.body))")
                func json(_ response: TestResponse) -> NSDictionary? { try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? NSDictionary }
                #expect(json(again) != nil && json(again) == json(first), "the same return id and version")
                let other = try await post(#"{"lines":[{"sku":"PEN","quantity":1}],"reason":"too many"}"#)
                #expect(other.status == .unprocessableContent && String(buffer: other.body).contains("idempotency_key_reused"), "\(String(buffer: other.body))")
            }
            let events = try await client.query("SELECT count(*)::int8 FROM event_store.events", logger: testLogger("q")).collect().first?.decode(Int64.self)
            #expect(events == 1, "one return requested")
        }
    }
}
