import BoundedContexts
import Checkout
import EventSourcing
import EventStore
import Foundation
import Hummingbird
import ServiceHTTP

/// Checkout's client API: place and cancel orders, and restock. Bad input is a JSON error
/// naming the field; nothing is written.
struct CheckoutCommandRoutes: Sendable {
    let commands: CheckoutCommands

    func register(on routes: ContextRouter) {
        routes.startingSaga(CheckoutSaga.sagaName).post("/orders", use: placeOrder)
        routes.commands.post("/orders/:orderId/cancel", use: cancelOrder)
        routes.commands.post("/stock/:sku/restock", use: restock)
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
            let sealed = try await CheckoutPersonalData.seal(details, of: body.customerId, in: commands.vault)
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
}
