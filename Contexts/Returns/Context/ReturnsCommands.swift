import BoundedContexts
import EventSourcing
import EventStore
import Foundation
import Hummingbird
import PostgresNIO
import Returns
import ServiceHTTP

/// `POST /orders/{orderId}/returns` and `POST /returns/{returnId}/receive`, and the commands of
/// `returns.commands` (the process manager recording how a refund ended).
struct ReturnsCommands: Sendable {
    let store: PostgresEventStore
    let window: TimeInterval

    func handler(_ orderID: String) -> CommandHandler<ReturnCommand, OrderReturnsState, ReturnEvent> {
        CommandHandler(decider: Return.decider(orderID: orderID), codec: Return.codec, store: store)
    }

    struct RequestBody: Codable {
        struct Line: Codable {
            var sku: String
            var quantity: Int
        }

        var lines: [Line]
        var reason: String
    }

    struct Answer: Codable, ResponseEncodable {
        var returnId: String
        var orderId: String
        var status: String
        var version: Int64
        var correlationId: String
    }

    func register(on routes: ContextRouter) {
        routes.commands.post("/orders/:orderId/returns") { request, context in
            let orderID = try RequestJSON.idParameter("orderId", of: context)
            let body = try await RequestJSON.decode(RequestBody.self, from: request, context: context)
            let correlationID = RequestJSON.correlationID(of: request)
            let purchase = try await purchase(of: orderID)
            let returnID = Return.newID(orderID: orderID)
            let command = ReturnCommand.request(
                returnID: returnID, lines: body.lines.map { ReturnLine(sku: $0.sku, quantity: $0.quantity) }, reason: body.reason, purchase: purchase, now: Date(),
                window: window)
            let key = try RequestJSON.idempotencyKey(of: request)
            let outcome = try await CommandOutcomes.run { () async throws(CommandError) in
                try await handler(orderID).handle(
                    command, on: Return.stream(orderID: orderID),
                    context: CommandContext(
                        commandID: key.map { "http:returns:\(orderID):\($0)" }, requestHash: RequestJSON.requestHash("POST /orders/\(orderID)/returns", body),
                        correlationID: correlationID),
                    result: { appended in
                        CommandOutcomes.encode(
                            Answer(returnId: returnID, orderId: orderID, status: "requested", version: appended.nextExpectedVersion, correlationId: correlationID))
                    })
            }
            return try CommandOutcomes.response(outcome, created: true) { version in
                Answer(returnId: returnID, orderId: orderID, status: "requested", version: version, correlationId: correlationID)
            }
        }
        routes.commands.post("/returns/:returnId/receive") { request, context in
            let returnID = try RequestJSON.idParameter("returnId", of: context)
            guard let orderID = Return.orderID(ofReturn: returnID) else { throw ServiceError.notFound("return", id: returnID) }
            let correlationID = RequestJSON.correlationID(of: request)
            let outcome = try await CommandOutcomes.run { () async throws(CommandError) in
                try await handler(orderID).handle(.receive(returnID: returnID), on: Return.stream(orderID: orderID), context: CommandContext(correlationID: correlationID))
            }
            // A repeat after the return moved on answers where it is now.
            let status: String =
                switch outcome {
                case .appended(_, _, let state), .unchanged(let state, _): state.returns[returnID]?.status.rawValue ?? "received"
                case .duplicate: "received"
                }
            return try CommandOutcomes.response(outcome, created: false) { version in
                Answer(returnId: returnID, orderId: orderID, status: status, version: version, correlationId: correlationID)
            }
        }
    }

    /// What returns' own read model knows the order bought (nil: nothing yet).
    func purchase(of orderID: String) async throws -> Purchase? {
        struct Bought: Decodable {
            var sku: String
            var quantity: Int
            var unitPriceCents: Int
        }
        let rows: [PostgresRow]
        do {
            rows = try await store.client.liveQuery(
                "SELECT lines::text, completed_at FROM read_models.return_purchases WHERE order_id = \(orderID)", logger: store.logger)
        } catch {
            // Not migrated yet (the projection service creates it), or PostgreSQL away: retryable.
            throw ServiceError(.serviceUnavailable, code: "read_model_unavailable", message: "what order \(orderID) bought cannot be read now; try again")
        }
        guard let row = rows.first else { return nil }
        let (text, completedAt) = try row.decode((String, Date?).self)
        var lines: [String: (quantity: Int, unitPriceCents: Int)] = [:]
        for line in try JSONDecoder().decode([Bought].self, from: Data(text.utf8)) {
            lines[line.sku] = ((lines[line.sku]?.quantity ?? 0) + line.quantity, line.unitPriceCents)
        }
        return Purchase(lines: lines, completedAt: completedAt)
    }

    /// `returns.commands`: how the process manager's refund ended.
    func channel(_ value: [UInt8]) throws -> ChannelCommand {
        let message = try JSONDecoder().decode(ReturnsCommandMessage.self, from: Data(value))
        guard let orderID = Return.orderID(ofReturn: message.returnId) else {
            throw DomainError("invalid_command", "\(message.returnId) is not a return id")
        }
        let command: ReturnCommand =
            switch message.type {
            case .completeReturn: .complete(returnID: message.returnId, refundedCents: message.refundedCents ?? 0)
            case .failReturnRefund: .failRefund(returnID: message.returnId, reason: message.reason ?? "refund failed")
            }
        return ChannelCommand(id: message.commandId, type: message.type.rawValue, correlationID: message.correlationId) { () async throws(CommandError) in
            _ = try await handler(orderID).handle(
                command, on: Return.stream(orderID: orderID), context: CommandContext(commandID: message.commandId, correlationID: message.correlationId))
        }
    }
}
