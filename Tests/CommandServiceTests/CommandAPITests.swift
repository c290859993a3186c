import Checkout
@testable import CommandService
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import SuiteTesting
import Testing

/// The command service's HTTP API against a real, migrated event store.
@Suite("Command service HTTP API")
struct CommandAPITests {
    static let order = #"{"customerId":"c-1","lines":[{"sku":"SKU-1","quantity":2,"unitPriceCents":1299}],"paymentMethod":"card"}"#

    private func withAPI(_ body: @Sendable @escaping (any TestClientProtocol, PostgresEventStore) async throws -> Void) async throws {
        try await TestDatabase.withFresh { client, _ in
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutTopics.topic(forStreamType:))
            try await store.migrate()
            let router = Router()
            CommandRoutes(commands: CheckoutCommands(store: store)).register(on: router)
            try await Application(router: router).test(.router) { client in try await body(client, store) }
        }
    }

    private func eventCount(_ store: PostgresEventStore) async throws -> Int64 {
        try await store.client.query("SELECT count(*)::int8 FROM event_store.events", logger: testLogger("q")).collect().first?.decode(Int64.self) ?? -1
    }

    private func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any])
    }

    private func expectError(
        _ response: TestResponse, status: HTTPResponse.Status, code: String, field: String?, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(response.status == status, sourceLocation: sourceLocation)
        let body = try json(response.body)
        #expect(body["error"] as? String == code, "\(body)", sourceLocation: sourceLocation)
        if let field { #expect((body["details"] as? [String: String])?["field"] == field, "\(body)", sourceLocation: sourceLocation) }
    }

    @Test(
        "bad requests get their documented status and body, and write nothing",
        arguments: [
            (#"{"customerId":"c-1","#, HTTPResponse.Status.badRequest, "invalid_request", "body"),
            (#"{"lines":[{"sku":"S","quantity":1,"unitPriceCents":1}],"paymentMethod":"card"}"#, .badRequest, "invalid_request", "customerId"),
            (#"{"customerId":"c","lines":[{"sku":"S","quantity":"two","unitPriceCents":1}],"paymentMethod":"card"}"#, .badRequest, "invalid_request", "lines[0].quantity"),
            (#"{"customerId":"c","lines":[{"sku":"S","unitPriceCents":1}],"paymentMethod":"card"}"#, .badRequest, "invalid_request", "lines[0].quantity"),
            (#"{"customerId":"c","lines":[{"sku":"S","quantity":-2,"unitPriceCents":1299}],"paymentMethod":"card"}"#, .unprocessableContent, "invalid_quantity", "lines[0].quantity"),
            (#"{"customerId":"c","lines":[],"paymentMethod":"card"}"#, .unprocessableContent, "no_lines", "lines"),
            (#"{"customerId":"c","lines":[{"sku":"S","quantity":1,"unitPriceCents":1}],"paymentMethod":"cash"}"#, .unprocessableContent, "unsupported_payment_method", "paymentMethod"),
            ("", .badRequest, "invalid_request", "body"),
        ])
    func rejectsBadOrders(body: String, status: HTTPResponse.Status, code: String, field: String) async throws {
        try await withAPI { client, store in
            try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: body)) { response in
                try expectError(response, status: status, code: code, field: field)
            }
            #expect(try await eventCount(store) == 0)
        }
    }

    @Test("an order is placed, its events and state can be read, and an unknown order is 404")
    func placeAndRead() async throws {
        try await withAPI { client, _ in
            let placed = try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: Self.order)) { response in
                #expect(response.status == .created)
                return try json(response.body)
            }
            let streamID = try #require(placed["streamId"] as? String)
            #expect(placed["version"] as? Int == 1)
            #expect((placed["orderId"] as? String).map { "order-\($0)" } == streamID)
            try await client.execute(uri: "/streams/\(streamID)/events", method: .get) { response in
                #expect(response.status == .ok)
                let events = try #require(try json(response.body)["events"] as? [[String: Any]])
                #expect(events.map { $0["type"] as? String } == ["OrderPlaced"])
                #expect(events.first?["correlationId"] as? String == placed["correlationId"] as? String)
                #expect((events.first?["data"] as? [String: Any])?["totalCents"] as? Int == 2598)
            }
            try await client.execute(uri: "/streams/\(streamID)/state", method: .get) { response in
                let body = try json(response.body)
                #expect((body["state"] as? [String: Any])?["status"] as? String == "pending")
            }
            try await client.execute(uri: "/orders/no-such-order/cancel", method: .post, body: ByteBuffer(string: #"{"reason":"x"}"#)) { response in
                try expectError(response, status: .notFound, code: "not_found", field: nil)
            }
            try await client.execute(uri: "/streams/order-nope/events", method: .get) { response in
                try expectError(response, status: .notFound, code: "not_found", field: nil)
            }
        }
    }

    @Test("a repeated Idempotency-Key returns the first response and appends nothing")
    func idempotencyKey() async throws {
        try await withAPI { client, store in
            let headers: HTTPFields = [try #require(HTTPField.Name("Idempotency-Key")): "key-1"]
            let first = try await client.execute(uri: "/orders", method: .post, headers: headers, body: ByteBuffer(string: Self.order)) { response in
                #expect(response.status == .created)
                return try json(response.body)
            }
            let second = try await client.execute(uri: "/orders", method: .post, headers: headers, body: ByteBuffer(string: Self.order)) {
                response in
                #expect(response.status == .created)
                let replayed = try #require(HTTPField.Name("Idempotent-Replayed"))
                #expect(response.headers[replayed] == "true")
                return try json(response.body)
            }
            #expect(first["orderId"] as? String == second["orderId"] as? String)
            #expect(first["version"] as? Int == second["version"] as? Int)
            #expect(try await eventCount(store) == 1)
        }
    }

    @Test("state as of a past time (an event's own recordedAt) and at a past version; bad parameters are 400")
    func temporalState() async throws {
        try await withAPI { client, _ in
            for quantity in [10, 5] {
                try await client.execute(uri: "/stock/SKU-9/restock", method: .post, body: ByteBuffer(string: "{\"quantity\":\(quantity)}")) { response in
                    #expect(response.status == .ok)
                }
            }
            let firstTime = try await client.execute(uri: "/streams/stock-SKU-9/events", method: .get) { response in
                try #require((try json(response.body)["events"] as? [[String: Any]])?.first?["recordedAt"] as? String)
            }
            let encoded = try #require(firstTime.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
            try await client.execute(uri: "/streams/stock-SKU-9/state?asOf=\(encoded)", method: .get) { response in
                #expect(response.status == .ok)
                let body = try json(response.body)
                #expect(body["version"] as? Int == 1)
                #expect((body["state"] as? [String: Any])?["onHand"] as? Int == 10)
            }
            try await client.execute(uri: "/streams/stock-SKU-9/state?version=2", method: .get) { response in
                let body = try json(response.body)
                #expect((body["state"] as? [String: Any])?["onHand"] as? Int == 15)
            }
            for query in ["asOf=yesterday", "version=-1", "version=abc", "asOf=2026-01-01T00:00:00Z&version=1"] {
                try await client.execute(uri: "/streams/stock-SKU-9/state?\(query)", method: .get) { response in
                    #expect(response.status == .badRequest, "\(query)")
                }
            }
            try await client.execute(uri: "/stock/SKU-9/restock", method: .post, body: ByteBuffer(string: #"{"quantity":0}"#)) { response in
                try expectError(response, status: .unprocessableContent, code: "invalid_quantity", field: "quantity")
            }
        }
    }
}
