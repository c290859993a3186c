import BoundedContexts
import Checkout
import EventSourcing
import EventStore
import Foundation

/// Reads `checkout.commands` (from the checkout saga, and from any context that asks checkout
/// to act) and routes each message to its stream's handler, with the message's command id as
/// the idempotency key.
enum CheckoutCommandChannel {
    static func reader(_ commands: CheckoutCommands) -> @Sendable ([UInt8]) throws -> ChannelCommand {
        { value in
            let message = try JSONDecoder().decode(CheckoutCommandMessage.self, from: Data(value))
            return ChannelCommand(id: message.commandId, type: message.type.rawValue, correlationID: message.correlationId) { () async throws(CommandError) in
                try await execute(message, with: commands)
            }
        }
    }

    static func execute(_ message: CheckoutCommandMessage, with commands: CheckoutCommands) async throws(CommandError) {
        let context = CommandContext(commandID: message.commandId, correlationID: message.correlationId, causationID: message.causationId)
        let orderID = message.orderId
        switch message.type {
        case .reserveStock, .releaseStock, .commitStock, .restockStock:
            guard let sku = message.sku, !sku.isEmpty else { throw .rejected(DomainError("invalid_command", "sku is required", field: "sku")) }
            let command: StockCommand =
                switch message.type {
                case .reserveStock: .reserve(orderID: orderID, quantity: message.quantity ?? 0)
                case .releaseStock: .release(orderID: orderID)
                case .restockStock: .restock(quantity: message.quantity ?? 0)
                default: .commit(orderID: orderID)
                }
            _ = try await commands.stock(sku).handle(command, on: Stock.stream(sku), context: context)
        case .authorizePayment:
            _ = try await commands.payment(orderID).handle(
                .authorize(amountCents: message.amountCents ?? 0, method: message.paymentMethod ?? ""), on: Payment.stream(orderID),
                context: context)
        case .refundPayment:
            // No refund id: a message from before partial refunds, which only the saga sent.
            let refundID = message.refundId ?? Payment.checkoutRefundID(orderID: orderID)
            _ = try await commands.payment(orderID).handle(
                .refund(amountCents: message.amountCents, refundId: refundID), on: Payment.stream(orderID), context: context)
        case .confirmOrder:
            _ = try await commands.order(orderID).handle(.confirm, on: Order.stream(orderID), context: context)
        case .cancelOrder:
            _ = try await commands.order(orderID).handle(
                .cancel(reason: message.reason ?? "cancelled"), on: Order.stream(orderID), context: context)
        }
    }
}
