import Checkout
import EventSourcing
import EventStore
import Foundation
import Hummingbird
import ServiceSupport

/// The client API: place and cancel orders, restock, and read streams (events and state, also
/// as of a past time or version). Bad input is a JSON error naming the field; nothing is written.
struct CommandRoutes: Sendable {
    let commands: CheckoutCommands

    func register(on router: Router<BasicRequestContext>, maxCommandsInFlight: Int = 256) {
        let commandRoutes = router.group().add(middleware: CommandAdmission(limit: maxCommandsInFlight))
        commandRoutes.post("/orders", use: placeOrder)
        commandRoutes.post("/orders/:orderId/cancel", use: cancelOrder)
        commandRoutes.post("/stock/:sku/restock", use: restock)
        router.get("/streams/:streamId/events", use: streamEvents)
        router.get("/streams/:streamId/state", use: streamState)
    }

    struct PlaceOrderRequest: Codable {
        var customerId: String
        var lines: [OrderLine]
        var paymentMethod: String
        /// Sealed with the customer's key before anything is written (`PersonalData`).
        var customer: CustomerDetails?
    }

    struct CommandResponse: ResponseEncodable {
        var orderId: String?
        var sku: String?
        var streamId: String
        var version: Int64
        var correlationId: String
    }

    @Sendable func placeOrder(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await RequestJSON.decode(PlaceOrderRequest.self, from: request, context: context)
        let orderID = UUID().uuidString.lowercased()
        let correlationID = RequestJSON.correlationID(of: request)
        var command = OrderCommand.place(customerID: body.customerId, lines: body.lines, paymentMethod: body.paymentMethod)
        if let details = body.customer {
            // The order's own rules first: a refused order must not leave a key behind.
            _ = try CommandOutcomes.decided { () throws(DomainError) in try Order.decider(orderID: orderID).decide(command, OrderState()) }
            let sealed = try await PersonalData.seal(details, of: body.customerId, in: commands.vault)
            command = .place(customerID: body.customerId, lines: body.lines, paymentMethod: body.paymentMethod, customer: sealed)
        }
        let idempotencyKey = try RequestJSON.idempotencyKey(of: request)
        // A key is the client's, not the world's: scoped per route and customer, and bound to
        // the request it first came with (a reuse with another body is refused).
        let outcome = try await CommandOutcomes.run { () async throws(CommandError) in
            try await commands.order(orderID).handle(
                command, on: Order.stream(orderID),
                context: CommandContext(
                    commandID: idempotencyKey.map { "http:orders:\(body.customerId):\($0)" },
                    requestHash: RequestJSON.requestHash("POST /orders", body), correlationID: correlationID),
                result: { appended in
                    CommandOutcomes.encode(
                        CommandResponse(orderId: orderID, streamId: appended.streamID, version: appended.nextExpectedVersion, correlationId: correlationID))
                })
        }
        return try CommandOutcomes.response(outcome, created: true) { version in
            CommandResponse(orderId: orderID, streamId: Order.stream(orderID).description, version: version, correlationId: correlationID)
        }
    }

    struct CancelRequest: Codable {
        var reason: String?
    }

    @Sendable func cancelOrder(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let orderID = try RequestJSON.idParameter("orderId", of: context)
        let body = try await RequestJSON.decodeOptional(CancelRequest.self, from: request, context: context)
        let correlationID = RequestJSON.correlationID(of: request)
        let idempotencyKey = try RequestJSON.idempotencyKey(of: request)
        let outcome = try await CommandOutcomes.run { () async throws(CommandError) in
            try await commands.order(orderID).handle(
                .cancel(reason: body?.reason ?? "cancelled by customer"), on: Order.stream(orderID),
                context: CommandContext(
                    commandID: idempotencyKey.map { "http:cancel:\(orderID):\($0)" },
                    requestHash: RequestJSON.requestHash("POST /orders/\(orderID)/cancel", body ?? CancelRequest()),
                    correlationID: correlationID),
                result: { appended in
                    CommandOutcomes.encode(
                        CommandResponse(orderId: orderID, streamId: appended.streamID, version: appended.nextExpectedVersion, correlationId: correlationID))
                })
        }
        return try CommandOutcomes.response(outcome, created: false) { version in
            CommandResponse(orderId: orderID, streamId: Order.stream(orderID).description, version: version, correlationId: correlationID)
        }
    }

    struct RestockRequest: Codable {
        var quantity: Int
    }

    @Sendable func restock(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let sku = try RequestJSON.idParameter("sku", of: context)
        let body = try await RequestJSON.decode(RestockRequest.self, from: request, context: context)
        let correlationID = RequestJSON.correlationID(of: request)
        let idempotencyKey = try RequestJSON.idempotencyKey(of: request)
        let outcome = try await CommandOutcomes.run { () async throws(CommandError) in
            try await commands.stock(sku).handle(
                .restock(quantity: body.quantity), on: Stock.stream(sku),
                context: CommandContext(
                    commandID: idempotencyKey.map { "http:restock:\(sku):\($0)" },
                    requestHash: RequestJSON.requestHash("POST /stock/\(sku)/restock", body), correlationID: correlationID),
                result: { appended in
                    CommandOutcomes.encode(
                        CommandResponse(sku: sku, streamId: appended.streamID, version: appended.nextExpectedVersion, correlationId: correlationID))
                })
        }
        return try CommandOutcomes.response(outcome, created: false) { version in
            CommandResponse(sku: sku, streamId: Stock.stream(sku).description, version: version, correlationId: correlationID)
        }
    }

    @Sendable func streamEvents(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let streamID = try RequestJSON.streamParameter("streamId", of: context).description
        let from = try RequestJSON.queryInt64("from", of: request, minimum: 1) ?? 1
        let to = try RequestJSON.queryInt64("to", of: request, minimum: 1)
        let events = try await CommandOutcomes.storeCall { () throws(EventStoreError) in
            try await commands.store.readStream(streamID, from: from, through: to)
        }
        if events.isEmpty, try await CommandOutcomes.storeCall({ () throws(EventStoreError) in try await commands.store.version(of: streamID) }) == nil {
            throw ServiceError.notFound("stream", id: streamID)
        }
        let payloads = events.map { (try? JSONDecoder().decode(JSONValue.self, from: Data($0.payload))) ?? .null }
        let keys = try await PersonalData.call { () async throws(PersonalDataError) in
            try await commands.vault.keys(payloads.reduce(into: []) { $0.formUnion(PersonalDataCipher.keyIDs(in: $1)) })
        }
        let views = zip(events, payloads).map { EventView($0, data: PersonalDataCipher.reveal($1, keys: keys)) }
        return try CommandOutcomes.json(.ok, StreamEventsResponse(streamId: streamID, events: views))
    }

    @Sendable func streamState(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let name = try RequestJSON.streamParameter("streamId", of: context)
        let streamID = name.description
        let asOf = try RequestJSON.queryDate("asOf", of: request)
        let version = try RequestJSON.queryInt64("version", of: request, minimum: 0)
        if asOf != nil, version != nil {
            throw ServiceError.invalidField("asOf", reason: "give either asOf or version, not both")
        }
        let view: StateView
        switch name.category {
        case Order.category: view = try await StateView.of(commands.order(name.id), name, asOf: asOf, version: version)
        case Stock.category: view = try await StateView.of(commands.stock(name.id), name, asOf: asOf, version: version)
        case Payment.category: view = try await StateView.of(commands.payment(name.id), name, asOf: asOf, version: version)
        case Customer.category: view = try await StateView.of(commands.customer(name.id), name, asOf: asOf, version: version)
        default: throw ServiceError.notFound("stream", id: streamID)
        }
        guard view.version > 0 || asOf != nil || version != nil else { throw ServiceError.notFound("stream", id: streamID) }
        return try CommandOutcomes.json(.ok, view)
    }
}

struct StreamEventsResponse: Encodable {
    var streamId: String
    var events: [EventView]
}

/// An event as the API shows it: the envelope and the payload as JSON, personal data opened
/// (or shown as erased once its key was forgotten).
struct EventView: Encodable {
    var eventId: String
    var type: String
    var streamVersion: Int64
    var globalPosition: Int64
    var schemaVersion: Int
    var recordedAt: Date
    var correlationId: String
    var causationId: String?
    var data: JSONValue

    init(_ event: RecordedEvent, data: JSONValue) {
        eventId = event.eventID.uuidString.lowercased()
        type = event.type
        streamVersion = event.streamVersion
        globalPosition = event.globalPosition
        schemaVersion = event.schemaVersion
        recordedAt = event.recordedAt
        correlationId = event.correlationID
        causationId = event.causationID
        self.data = data
    }
}

struct StateView: Encodable {
    var streamId: String
    var version: Int64
    var asOf: Date?
    var state: JSONValue

    static func of<C, S: Codable & Sendable, E>(
        _ handler: CommandHandler<C, S, E>, _ stream: StreamName, asOf: Date?, version: Int64?
    ) async throws -> StateView {
        let (state, reached) = try await CommandOutcomes.run { () async throws(CommandError) in
            if asOf == nil, version == nil { try await handler.load(stream) } else { try await handler.state(of: stream, asOf: asOf, version: version) }
        }
        let json = try JSONDecoder().decode(JSONValue.self, from: try EventJSON.encoder().encode(state))
        return StateView(streamId: stream.description, version: reached, asOf: asOf, state: json)
    }
}
