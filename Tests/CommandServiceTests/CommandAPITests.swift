@testable import BoundedContexts
import CheckoutSuite
import Checkout
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import SuiteTesting
import ServiceHTTP
import Testing

/// The command service's HTTP API against a real, migrated event store.
@Suite("Command service HTTP API")
struct CommandAPITests {
    static let order = #"{"customerId":"c-1","lines":[{"sku":"SKU-1","quantity":2,"unitPriceCents":1299}],"paymentMethod":"card"}"#

    private func withAPI(_ body: @Sendable @escaping (any TestClientProtocol, PostgresEventStore) async throws -> Void) async throws {
        try await TestDatabase.withFresh { client, _ in
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            let router = Router()
            router.add(middleware: RequestLogMiddleware(logger: testLogger("http")))
            try CommandSides(checkoutSuite, CommandEnvironment(store: store)).register(
                on: ContextRouter(router: router, service: .commandService, adminToken: nil, client: client, logger: testLogger("routes"), maxCommandsInFlight: 256))
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
            // Documented limits (README, "Input limits"): ids end up in stream ids, command ids and indexes.
            (#"{"customerId":"c","lines":[{"sku":"\#(String(repeating: "X", count: 3000))","quantity":1,"unitPriceCents":1}],"paymentMethod":"card"}"#,
             .unprocessableContent, "invalid_sku", "lines[0].sku"),
            (#"{"customerId":"c","lines":[{"sku":"a/b","quantity":1,"unitPriceCents":1}],"paymentMethod":"card"}"#,
             .unprocessableContent, "invalid_sku", "lines[0].sku"),
            (#"{"customerId":"\#(String(repeating: "c", count: 65))","lines":[{"sku":"S","quantity":1,"unitPriceCents":1}],"paymentMethod":"card"}"#,
             .unprocessableContent, "invalid_customer", "customerId"),
            (#"{"customerId":"c","lines":[{"sku":"S","quantity":1000001,"unitPriceCents":1}],"paymentMethod":"card"}"#,
             .unprocessableContent, "invalid_quantity", "lines[0].quantity"),
            (#"{"customerId":"c","lines":[{"sku":"S","quantity":1,"unitPriceCents":100000001}],"paymentMethod":"card"}"#,
             .unprocessableContent, "invalid_price", "lines[0].unitPriceCents"),
            (#"{"customerId":"c","lines":[\#(Array(repeating: #"{"sku":"S","quantity":1,"unitPriceCents":1}"#, count: 101).joined(separator: ","))],"paymentMethod":"card"}"#,
             .unprocessableContent, "too_many_lines", "lines"),
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
                // Without an Idempotency-Key the command has no id: the request is the cause.
                #expect((events.first?["causationId"] as? String)?.hasPrefix("http-request:") == true)
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
            // The request's command is its first event's cause.
            let events = try await store.readStream("order-\(try #require(first["orderId"] as? String))")
            #expect(events.first?.causationID == "http:orders:c-1:key-1")
        }
    }

    @Test("an Idempotency-Key of 200 bytes places the order; its command id is too long to be a cause, so the request is the cause")
    func longestKey() async throws {
        try await withAPI { client, store in
            let headers: HTTPFields = [try #require(HTTPField.Name("Idempotency-Key")): String(repeating: "k", count: 200)]
            let placed = try await client.execute(uri: "/orders", method: .post, headers: headers, body: ByteBuffer(string: Self.order)) { response in
                #expect(response.status == .created)
                return try json(response.body)
            }
            let events = try await store.readStream("order-\(try #require(placed["orderId"] as? String))")
            #expect(events.first?.causationID?.hasPrefix("http-request:") == true)
        }
    }

    @Test("customer details are stored sealed under one key per customer, shown opened by the events route, and a repeated key reuses the first order")
    func customerDetailsSealed() async throws {
        try await withAPI { client, store in
            let order = #"{"customerId":"c-9","lines":[{"sku":"S","quantity":1,"unitPriceCents":100}],"paymentMethod":"card","customer":{"name":"Grace Hopper","email":"grace@navy.example","address":"1 Arlington\nVirginia"}}"#
            let headers: HTTPFields = [try #require(HTTPField.Name("Idempotency-Key")): "k-9"]
            var orderIDs: [String] = []
            for headers in [headers, headers, [:]] {
                let placed = try await client.execute(uri: "/orders", method: .post, headers: headers, body: ByteBuffer(string: order)) { response in
                    #expect(response.status == .created)
                    return try json(response.body)
                }
                orderIDs.append(try #require(placed["orderId"] as? String))
            }
            #expect(orderIDs[0] == orderIDs[1] && orderIDs[1] != orderIDs[2])
            let logger = testLogger("q")
            let stored = try await store.client.query("SELECT payload::text FROM event_store.events", logger: logger).collect().map { try $0.decode(String.self) }
            #expect(stored.count == 2)
            for payload in stored {
                #expect(payload.contains(#""encrypted": "AES-256-GCM""#), "\(payload)")
                for text in ["Grace", "Hopper", "grace@navy.example", "Arlington"] { #expect(!payload.contains(text), "stored in clear: \(payload)") }
            }
            let keys = try await store.client.query("SELECT count(*)::int8 FROM event_store.personal_data_keys WHERE subject = 'c-9'", logger: logger)
                .collect().first?.decode(Int64.self)
            #expect(keys == 1, "one key per customer")
            try await client.execute(uri: "/streams/order-\(orderIDs[0])/events", method: .get) { response in
                let events = try #require(try json(response.body)["events"] as? [[String: Any]])
                let customer = (events.first?["data"] as? [String: Any])?["customer"] as? [String: String]
                #expect(customer == ["name": "Grace Hopper", "email": "grace@navy.example", "address": "1 Arlington\nVirginia"])
            }
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

    // MARK: - Issue 11: bounded input, Idempotency-Key scoped and bound to its request

    @Test("a SKU or order id in the path that breaks the id rule is 400 naming it; a reason too long (in characters or UTF-8 bytes) or with a control character is 422; nothing is written")
    func boundedPathsAndReasons() async throws {
        try await withAPI { client, store in
            let long = String(repeating: "X", count: 3000)
            try await client.execute(uri: "/stock/\(long)/restock", method: .post, body: ByteBuffer(string: #"{"quantity":1}"#)) { response in
                try expectError(response, status: .badRequest, code: "invalid_request", field: "sku")
            }
            try await client.execute(uri: "/orders/\(long)/cancel", method: .post, body: ByteBuffer(string: #"{"reason":"x"}"#)) { response in
                try expectError(response, status: .badRequest, code: "invalid_request", field: "orderId")
            }
            let placed = try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: Self.order)) { response in
                try json(response.body)
            }
            let orderID = try #require(placed["orderId"] as? String)
            // Over 500 characters; 500 characters of 19 bytes each (a letter and nine combining
            // marks: the character count alone let any size through); a NUL, which jsonb
            // refuses; another control character.
            let heavy = String(repeating: "e" + String(repeating: "\u{301}", count: 9), count: 500)
            for reason in [String(repeating: "r", count: 501), heavy, "stop\u{0}now", "bell\u{7}"] {
                let body = String(decoding: try JSONSerialization.data(withJSONObject: ["reason": reason]), as: UTF8.self)
                try await client.execute(uri: "/orders/\(orderID)/cancel", method: .post, body: ByteBuffer(string: body)) { response in
                    try expectError(response, status: .unprocessableContent, code: "invalid_reason", field: "reason")
                }
            }
            #expect(try await eventCount(store) == 1)
        }
    }

    private func placeOrder(
        _ client: any TestClientProtocol, key: String, body: String
    ) async throws -> (status: HTTPResponse.Status, body: [String: Any]) {
        let headers: HTTPFields = [try #require(HTTPField.Name("Idempotency-Key")): key]
        return try await client.execute(uri: "/orders", method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
            (response.status, try json(response.body))
        }
    }

    private func order(customer: String, quantity: Int = 2) -> String {
        #"{"customerId":"\#(customer)","lines":[{"sku":"SKU-1","quantity":\#(quantity),"unitPriceCents":1299}],"paymentMethod":"card"}"#
    }

    @Test("two customers who both use Idempotency-Key 1 get two orders, each placed")
    func keysAreScopedPerCustomer() async throws {
        try await withAPI { client, store in
            let alice = try await placeOrder(client, key: "1", body: order(customer: "alice"))
            let bob = try await placeOrder(client, key: "1", body: order(customer: "bob"))
            #expect(alice.status == .created && bob.status == .created)
            #expect(alice.body["orderId"] as? String != bob.body["orderId"] as? String)
            let customers = try await store.client.query(
                "SELECT payload->>'customerId' FROM event_store.events WHERE event_type = 'OrderPlaced' ORDER BY global_position",
                logger: testLogger("q")
            ).collect().map { try $0.decode(String.self) }
            #expect(customers == ["alice", "bob"], "each customer's order is in the store")
        }
    }

    @Test("a key reused with a different body is 422 naming Idempotency-Key and writes nothing")
    func keyReusedWithAnotherBody() async throws {
        try await withAPI { client, store in
            let first = try await placeOrder(client, key: "k", body: order(customer: "alice", quantity: 2))
            #expect(first.status == .created)
            let reformatted = try await placeOrder(client, key: "k", body: " " + order(customer: "alice", quantity: 2) + "\n")
            #expect(reformatted.status == .created && reformatted.body["orderId"] as? String == first.body["orderId"] as? String)
            let changed = try await placeOrder(client, key: "k", body: order(customer: "alice", quantity: 3))
            #expect(changed.status == .unprocessableContent)
            #expect(changed.body["error"] as? String == "idempotency_key_reused")
            #expect((changed.body["details"] as? [String: String])?["field"] == "Idempotency-Key")
            #expect(try await eventCount(store) == 1)
        }
    }

    @Test("twenty concurrent identical requests with one key execute once and all answer with the same order")
    func concurrentIdenticalRequests() async throws {
        try await withAPI { client, store in
            let body = order(customer: "carol")
            let answers = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let answer = try await placeOrder(client, key: "same", body: body)
                        return (answer.status, answer.body["orderId"] as? String)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.0 == .created })
            #expect(Set(answers.compactMap(\.1)).count == 1, "every answer names the one order")
            #expect(try await eventCount(store) == 1, "executed once")
        }
    }

    @Test("a restock sent twice with one Idempotency-Key restocks once (a second execution would add again)")
    func restockExecutedOnce() async throws {
        try await withAPI { client, store in
            let headers: HTTPFields = [try #require(HTTPField.Name("Idempotency-Key")): "restock-1"]
            for _ in 0..<2 {
                try await client.execute(uri: "/stock/SKU-7/restock", method: .post, headers: headers, body: ByteBuffer(string: #"{"quantity":5}"#)) {
                    response in #expect(response.status == .ok)
                }
            }
            #expect(try await eventCount(store) == 1, "executed once")
            try await client.execute(uri: "/streams/stock-SKU-7/state", method: .get) { response in
                let state = try json(response.body)["state"] as? [String: Any]
                #expect(state?["onHand"] as? Int == 5)
            }
        }
    }
}
