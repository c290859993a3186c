public import EventSourcing

/// One example payload of every event type the suite writes, at the schema version it is
/// written with today: the compatibility gate derives each type's JSON Schema from it (so every
/// optional field is set here, or its type could not be seen).
public enum EventExamples {
    public typealias Example = EventExample

    public static let all: [Example] = [
        Example(
            streamType: Order.category, type: "OrderPlaced",
            payload: OrderPlaced(
                orderId: "0b5c1f9e-3c1e-4a57-9d7e-2f4b8f0a6c11", customerId: "c-42",
                lines: [OrderLine(sku: "PEN", quantity: 2, unitPriceCents: 150)], totalCents: 300, paymentMethod: "card",
                customer: SealedData(keyId: "5f0c2b7e-8d1a-4c3e-9b6f-0a7d2e4c8b19", data: "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="))),
        Example(streamType: Order.category, type: "OrderConfirmed", payload: OrderConfirmed(orderId: "0b5c1f9e-3c1e-4a57-9d7e-2f4b8f0a6c11")),
        Example(
            streamType: Order.category, type: "OrderCancelled",
            payload: OrderCancelled(orderId: "0b5c1f9e-3c1e-4a57-9d7e-2f4b8f0a6c11", reason: "cancelled by customer")),
        Example(streamType: Stock.category, type: "StockRestocked", payload: StockRestocked(sku: "PEN", quantity: 100)),
        Example(
            streamType: Stock.category, type: "StockReserved",
            payload: StockReserved(sku: "PEN", orderId: "0b5c1f9e-3c1e-4a57-9d7e-2f4b8f0a6c11", quantity: 2)),
        Example(
            streamType: Stock.category, type: "StockReservationRejected",
            payload: StockReservationRejected(
                sku: "PEN", orderId: "0b5c1f9e-3c1e-4a57-9d7e-2f4b8f0a6c11", quantity: 2, available: 1, reason: "out of stock")),
        Example(
            streamType: Stock.category, type: "StockReleased",
            payload: StockReleased(sku: "PEN", orderId: "0b5c1f9e-3c1e-4a57-9d7e-2f4b8f0a6c11", quantity: 2)),
        Example(
            streamType: Stock.category, type: "StockCommitted",
            payload: StockCommitted(sku: "PEN", orderId: "0b5c1f9e-3c1e-4a57-9d7e-2f4b8f0a6c11", quantity: 2)),
        Example(
            streamType: Payment.category, type: "PaymentAuthorized",
            payload: PaymentAuthorized(orderId: "0b5c1f9e-3c1e-4a57-9d7e-2f4b8f0a6c11", amountCents: 300, authorizationId: "auth-7")),
        Example(
            streamType: Payment.category, type: "PaymentDeclined",
            payload: PaymentDeclined(orderId: "0b5c1f9e-3c1e-4a57-9d7e-2f4b8f0a6c11", amountCents: 300, reason: "card declined")),
        Example(
            streamType: Payment.category, type: "PaymentRefunded",
            payload: PaymentRefunded(orderId: "0b5c1f9e-3c1e-4a57-9d7e-2f4b8f0a6c11", amountCents: 150, refundId: "return-7")),
        Example(
            streamType: Payment.category, type: "PaymentRefundDeclined",
            payload: PaymentRefundDeclined(
                orderId: "0b5c1f9e-3c1e-4a57-9d7e-2f4b8f0a6c11", refundId: "return-8", amountCents: 200,
                reason: "200 cents exceeds the 150 cents captured and not yet refunded")),
        Example(streamType: Customer.category, type: "CustomerForgotten", payload: CustomerForgotten(customerId: "c-42", keysDeleted: 1)),
    ]

    /// The schema version each example's type is written with today.
    public static func schemaVersion(of type: String) -> Int? {
        Order.codec.schemaVersion(of: type) ?? Stock.codec.schemaVersion(of: type) ?? Payment.codec.schemaVersion(of: type)
            ?? Customer.codec.schemaVersion(of: type)
    }

    /// Every event type the codecs write.
    public static var codecTypes: [String] {
        Order.codec.eventTypes + Stock.codec.eventTypes + Payment.codec.eventTypes + Customer.codec.eventTypes
    }
}
