@testable import BoundedContexts
import CheckoutSuite
import Checkout
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Projections
import ReturnsContext
import SuiteTesting
import Testing

/// Hostile input on every route of the command service: each gets a 4xx with a JSON error
/// (naming the field where there is one), never a 5xx or a crash, and nothing is written.
@Suite("Command service: hostile input")
struct HostileInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var method: HTTPRequest.Method
        var uri: String
        var body: String
        var status: HTTPResponse.Status
        /// The field the error must name (nil: any, or none).
        var field: String?
        var testDescription: String { label }
    }

    static let validLine = #"{"sku":"S","quantity":1,"unitPriceCents":1}"#
    static func order(_ fields: String) -> String { "{\(fields)}" }

    static let cases: [Case] = [
        Case(
            label: "customer details that are not an object", method: .post, uri: "/orders",
            body: order(#""customerId":"c","lines":[\#(validLine)],"paymentMethod":"card","customer":"Ada""#), status: .badRequest, field: "customer"),
        Case(
            label: "customer details without an email", method: .post, uri: "/orders",
            body: order(#""customerId":"c","lines":[\#(validLine)],"paymentMethod":"card","customer":{"name":"Ada","address":"1 St"}"#),
            status: .badRequest, field: "customer.email"),
        Case(
            label: "a customer email without a domain", method: .post, uri: "/orders",
            body: order(#""customerId":"c","lines":[\#(validLine)],"paymentMethod":"card","customer":{"name":"Ada","email":"ada@","address":"1 St"}"#),
            status: .unprocessableContent, field: "customer.email"),
        Case(
            label: "a blank customer name", method: .post, uri: "/orders",
            body: order(#""customerId":"c","lines":[\#(validLine)],"paymentMethod":"card","customer":{"name":"  ","email":"a@b.io","address":"1 St"}"#),
            status: .unprocessableContent, field: "customer.name"),
        Case(
            label: "valid customer details on an order a rule refuses (no key is made)", method: .post, uri: "/orders",
            body: order(#""customerId":"c","lines":[],"paymentMethod":"card","customer":{"name":"Ada","email":"a@b.io","address":"1 St"}"#),
            status: .unprocessableContent, field: "lines"),
        Case(label: "truncated JSON", method: .post, uri: "/orders", body: #"{"customerId":"c","lines":[{"sku""#, status: .badRequest, field: "body"),
        Case(label: "an array instead of an object", method: .post, uri: "/orders", body: "[]", status: .badRequest, field: nil),
        Case(label: "null", method: .post, uri: "/orders", body: "null", status: .badRequest, field: nil),
        Case(label: "not JSON at all", method: .post, uri: "/orders", body: "customerId=c", status: .badRequest, field: "body"),
        Case(
            label: "a number where text belongs", method: .post, uri: "/orders",
            body: order(#""customerId":42,"lines":[\#(validLine)],"paymentMethod":"card""#), status: .badRequest, field: "customerId"),
        Case(
            label: "an empty customer", method: .post, uri: "/orders",
            body: order(#""customerId":"","lines":[\#(validLine)],"paymentMethod":"card""#), status: .unprocessableContent, field: "customerId"),
        Case(
            label: "a quantity beyond Int64", method: .post, uri: "/orders",
            body: order(#""customerId":"c","lines":[{"sku":"S","quantity":9223372036854775808,"unitPriceCents":1}],"paymentMethod":"card""#),
            status: .badRequest, field: "body"),
        Case(
            label: "a fractional quantity", method: .post, uri: "/orders",
            body: order(#""customerId":"c","lines":[{"sku":"S","quantity":1.5,"unitPriceCents":1}],"paymentMethod":"card""#),
            status: .badRequest, field: "body"),
        Case(
            label: "an exponent quantity", method: .post, uri: "/orders",
            body: order(#""customerId":"c","lines":[{"sku":"S","quantity":1e30,"unitPriceCents":1}],"paymentMethod":"card""#),
            status: .badRequest, field: "body"),
        Case(
            label: "a zero quantity", method: .post, uri: "/orders",
            body: order(#""customerId":"c","lines":[{"sku":"S","quantity":0,"unitPriceCents":1}],"paymentMethod":"card""#),
            status: .unprocessableContent, field: "lines[0].quantity"),
        Case(
            label: "a negative price", method: .post, uri: "/orders",
            body: order(#""customerId":"c","lines":[{"sku":"S","quantity":1,"unitPriceCents":-1}],"paymentMethod":"card""#),
            status: .unprocessableContent, field: "lines[0].unitPriceCents"),
        Case(
            label: "SQL in an id", method: .post, uri: "/orders",
            body: order(#""customerId":"c'; DROP TABLE event_store.events;--","lines":[\#(validLine)],"paymentMethod":"card""#),
            status: .unprocessableContent, field: "customerId"),
        Case(
            label: "unicode in an id", method: .post, uri: "/orders",
            body: order(#""customerId":"çœ😀","lines":[\#(validLine)],"paymentMethod":"card""#), status: .unprocessableContent, field: "customerId"),
        Case(
            label: "a NUL escape in an id", method: .post, uri: "/orders",
            body: order(#""customerId":"c\u0000","lines":[\#(validLine)],"paymentMethod":"card""#), status: .unprocessableContent, field: "customerId"),
        Case(
            label: "a path in a SKU", method: .post, uri: "/orders",
            body: order(#""customerId":"c","lines":[{"sku":"../../etc","quantity":1,"unitPriceCents":1}],"paymentMethod":"card""#),
            status: .unprocessableContent, field: "lines[0].sku"),
        Case(
            label: "deep nesting", method: .post, uri: "/orders",
            body: order(#""customerId":"c","lines":\#(String(repeating: "[", count: 5_000))\#(String(repeating: "]", count: 5_000)),"paymentMethod":"card""#),
            status: .badRequest, field: nil),
        Case(
            label: "a body over 1 MiB", method: .post, uri: "/orders",
            body: order(#""customerId":"\#(String(repeating: "c", count: 1 << 20))","lines":[],"paymentMethod":"card""#), status: .contentTooLarge,
            field: nil),
        Case(label: "a cancel with a number as reason", method: .post, uri: "/orders/o-1/cancel", body: #"{"reason":5}"#, status: .badRequest, field: "reason"),
        Case(label: "a cancel of a path id", method: .post, uri: "/orders/..%2F..%2Fx/cancel", body: #"{"reason":"x"}"#, status: .badRequest, field: nil),
        Case(label: "a restock without quantity", method: .post, uri: "/stock/SKU-1/restock", body: "{}", status: .badRequest, field: "quantity"),
        Case(label: "a restock of zero", method: .post, uri: "/stock/SKU-1/restock", body: #"{"quantity":0}"#, status: .unprocessableContent, field: "quantity"),
        Case(label: "a restock in words", method: .post, uri: "/stock/SKU-1/restock", body: #"{"quantity":"many"}"#, status: .badRequest, field: "quantity"),
        Case(label: "a restock of a SKU with spaces", method: .post, uri: "/stock/a%20b/restock", body: #"{"quantity":1}"#, status: .badRequest, field: nil),
        Case(label: "events from a word", method: .get, uri: "/streams/stock-X/events?from=abc", body: "", status: .badRequest, field: "from"),
        Case(label: "events from zero", method: .get, uri: "/streams/stock-X/events?from=0", body: "", status: .badRequest, field: "from"),
        Case(label: "state as of no date", method: .get, uri: "/streams/stock-X/state?asOf=yesterday", body: "", status: .badRequest, field: "asOf"),
        Case(
            label: "state as of a date and a version", method: .get, uri: "/streams/stock-X/state?asOf=2026-01-01T00:00:00Z&version=1", body: "",
            status: .badRequest, field: "asOf"),
        Case(label: "a stream id that is not one", method: .get, uri: "/streams/%27%3B--/events", body: "", status: .badRequest, field: "streamId"),
        Case(label: "the state of a stream id that is not one", method: .get, uri: "/streams/order-a%2Fb/state", body: "", status: .badRequest, field: "streamId"),
        // Returns (order o1 bought 3 PEN and completed; see `bought`).
        Case(
            label: "a return whose reason holds a NUL", method: .post, uri: "/orders/o1/returns",
            body: #"{"lines":[{"sku":"PEN","quantity":1}],"reason":"x\u0000y"}"#, status: .unprocessableContent, field: "reason"),
        Case(
            label: "a return of 101 lines", method: .post, uri: "/orders/o1/returns",
            body: #"{"lines":[\#(Array(repeating: #"{"sku":"PEN","quantity":1}"#, count: 101).joined(separator: ","))],"reason":"x"}"#,
            status: .unprocessableContent, field: "lines"),
        Case(
            label: "a return of 1e30 units", method: .post, uri: "/orders/o1/returns", body: #"{"lines":[{"sku":"PEN","quantity":1e30}],"reason":"x"}"#,
            status: .badRequest, field: nil),
        Case(
            label: "a return of -1 units", method: .post, uri: "/orders/o1/returns", body: #"{"lines":[{"sku":"PEN","quantity":-1}],"reason":"x"}"#,
            status: .unprocessableContent, field: "lines[0].quantity"),
        Case(
            label: "a return of a SKU not bought", method: .post, uri: "/orders/o1/returns", body: #"{"lines":[{"sku":"INK","quantity":1}],"reason":"x"}"#,
            status: .unprocessableContent, field: "lines[0].sku"),
        Case(label: "a return with lines as text", method: .post, uri: "/orders/o1/returns", body: #"{"lines":"all","reason":"x"}"#, status: .badRequest, field: "lines"),
        Case(
            label: "a return of an order returns does not know", method: .post, uri: "/orders/o2/returns",
            body: #"{"lines":[{"sku":"PEN","quantity":1}],"reason":"x"}"#, status: .notFound, field: nil),
        Case(label: "receiving what is not a return id", method: .post, uri: "/returns/o1/receive", body: "", status: .notFound, field: nil),
        Case(label: "receiving a return id with a slash", method: .post, uri: "/returns/o1%2F.r1a2b3c4d/receive", body: "", status: .badRequest, field: "returnId"),
    ]

    /// What returns' own read model knows: order o1 bought 3 PEN at 150 and its checkout completed.
    static func bought(_ client: PostgresClient) async throws {
        try await ProjectionSchema.migrate(readModels: ReturnsReadModels.all, roles: CheckoutNames.roles, on: client, logger: testLogger("migrate"))
        _ = try await client.query(
            #"INSERT INTO read_models.return_purchases VALUES ('o1', '[{"sku":"PEN","quantity":3,"unitPriceCents":150}]', now())"#,
            logger: testLogger("q")
        ).collect()
    }

    @Test("a return before returns' read model exists is a 503 to retry, not a 500, and writes nothing")
    func returnBeforeReadModel() async throws {
        try await TestDatabase.withFresh { client, _ in
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            let router = Router()
            try CommandSides(checkoutSuite, CommandEnvironment(store: store)).register(
                on: ContextRouter(router: router, service: .commandService, adminToken: nil, client: client, logger: testLogger("routes"), maxCommandsInFlight: 256))
            try await Application(router: router).test(.router) { client in
                let body = ByteBuffer(string: #"{"lines":[{"sku":"PEN","quantity":1}],"reason":"x"}"#)
                try await client.execute(uri: "/orders/o1/returns", method: .post, body: body) { response in
                    #expect(response.status == .serviceUnavailable, "\(String(buffer: response.body))")
                    #expect(String(buffer: response.body).contains("read_model_unavailable"))
                }
            }
            let events = try await client.query("SELECT count(*)::int8 FROM event_store.events", logger: testLogger("q")).collect().first?.decode(Int64.self)
            #expect(events == 0)
        }
    }

    @Test("each hostile input gets its 4xx with a JSON error, and nothing is written", arguments: cases)
    func rejected(_ input: Case) async throws {
        try await TestDatabase.withFresh { client, _ in
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            try await Self.bought(client)
            let router = Router()
            try CommandSides(checkoutSuite, CommandEnvironment(store: store)).register(
                on: ContextRouter(router: router, service: .commandService, adminToken: nil, client: client, logger: testLogger("routes"), maxCommandsInFlight: 256))
            try await Application(router: router).test(.router) { client in
                try await client.execute(uri: input.uri, method: input.method, body: ByteBuffer(string: input.body)) { response in
                    #expect(response.status == input.status, "\(input.label): \(response.status) \(String(buffer: response.body).prefix(300))")
                    let body = try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                    #expect(body?["error"] is String, "\(input.label): a JSON error, got \(String(buffer: response.body).prefix(300))")
                    if let field = input.field {
                        #expect((body?["details"] as? [String: String])?["field"] == field, "\(input.label): \(String(describing: body))")
                    }
                }
            }
            let events = try await client.query("SELECT count(*)::int8 FROM event_store.events", logger: testLogger("q")).collect().first?.decode(Int64.self)
            #expect(events == 0, "\(input.label) wrote nothing")
            let keys = try await client.query("SELECT count(*)::int8 FROM event_store.personal_data_keys", logger: testLogger("q")).collect().first?.decode(Int64.self)
            #expect(keys == 0, "\(input.label) made no personal data key")
        }
    }
}
