@testable import Checkout
import EventSourcing
import Foundation
import Testing

@Suite("Event codecs")
struct CodecTests {
    static let line = OrderLine(sku: "SKU-1", quantity: 2, unitPriceCents: 1250)

    static let orderEvents: [OrderEvent] = [
        .placed(OrderPlaced(orderId: "o-1", customerId: "c-1", lines: [line], totalCents: 2500, paymentMethod: "card-silent")),
        .confirmed(OrderConfirmed(orderId: "o-1")),
        .cancelled(OrderCancelled(orderId: "o-1", reason: "payment declined")),
    ]

    static let stockEvents: [StockEvent] = [
        .restocked(StockRestocked(sku: "SKU-1", quantity: 10)),
        .reserved(StockReserved(sku: "SKU-1", orderId: "o-1", quantity: 2)),
        .reservationRejected(StockReservationRejected(sku: "SKU-1", orderId: "o-2", quantity: 20, available: 8, reason: "out of stock")),
        .released(StockReleased(sku: "SKU-1", orderId: "o-1", quantity: 2)),
        .committed(StockCommitted(sku: "SKU-1", orderId: "o-3", quantity: 1)),
    ]

    static let paymentEvents: [PaymentEvent] = [
        .authorized(PaymentAuthorized(orderId: "o-1", amountCents: 2500, authorizationId: "auth-o-1")),
        .declined(PaymentDeclined(orderId: "o-1", amountCents: 2500, reason: "card declined by issuer")),
        .refunded(PaymentRefunded(orderId: "o-1", amountCents: 1000, refundId: "return-1")),
        .refundDeclined(PaymentRefundDeclined(orderId: "o-1", refundId: "return-2", amountCents: 9000, reason: "exceeds what is left")),
    ]

    @Test("every order event round-trips through the order codec", arguments: orderEvents)
    func orderRoundTrip(event: OrderEvent) throws {
        #expect(try Order.codec.decode(Order.codec.encode(event)) == event)
    }

    @Test("every stock event round-trips through the stock codec", arguments: stockEvents)
    func stockRoundTrip(event: StockEvent) throws {
        #expect(try Stock.codec.decode(Stock.codec.encode(event)) == event)
    }

    @Test("every payment event round-trips through the payment codec", arguments: paymentEvents)
    func paymentRoundTrip(event: PaymentEvent) throws {
        #expect(try Payment.codec.decode(Payment.codec.encode(event)) == event)
    }

    @Test("the fixtures cover every registered event type")
    func fixturesCoverEveryType() throws {
        #expect(Set(try Self.orderEvents.map { try Order.codec.encode($0).type }) == Set(Order.codec.eventTypes))
        #expect(Set(try Self.stockEvents.map { try Stock.codec.encode($0).type }) == Set(Stock.codec.eventTypes))
        #expect(Set(try Self.paymentEvents.map { try Payment.codec.encode($0).type }) == Set(Payment.codec.eventTypes))
    }

    @Test("OrderPlaced is written at schema version 3")
    func orderPlacedIsVersion3() throws {
        let placed = try #require(Self.orderEvents.first)
        let encoded = try Order.codec.encode(placed)
        #expect(encoded.type == "OrderPlaced")
        #expect(encoded.schemaVersion == 3)
    }

    @Test("an OrderPlaced stored at version 1 (no paymentMethod) decodes as today's version, paid by card")
    func orderPlacedUpcastFromVersion1() throws {
        let v1 = #"{"customerId":"c-1","lines":[{"quantity":2,"sku":"SKU-1","unitPriceCents":1250}],"orderId":"o-1","totalCents":2500}"#
        let decoded = try Order.codec.decode(EncodedEvent(type: "OrderPlaced", schemaVersion: 1, payload: Array(v1.utf8)))
        #expect(decoded == .placed(OrderPlaced(orderId: "o-1", customerId: "c-1", lines: [Self.line], totalCents: 2500, paymentMethod: "card")))
        #expect(try Order.codec.encode(decoded).schemaVersion == 3)
    }

    @Test("an unknown event type cannot be decoded")
    func unknownTypeThrows() throws {
        let error = try #require(throws: EventCodingError.self) {
            try Order.codec.decode(EncodedEvent(type: "OrderShipped", schemaVersion: 1, payload: Array(#"{"orderId":"o-1"}"#.utf8)))
        }
        #expect(error.type == "OrderShipped")
        #expect(error.reason.contains("unknown event type"))
    }

    @Test("a schema version newer than the code knows cannot be decoded", arguments: [("OrderPlaced", 4), ("OrderConfirmed", 2)])
    func newerVersionThrows(type: String, version: Int) throws {
        let error = try #require(throws: EventCodingError.self) {
            try Order.codec.decode(EncodedEvent(type: type, schemaVersion: version, payload: Array(#"{"orderId":"o-1"}"#.utf8)))
        }
        #expect(error.version == version)
        #expect(error.reason.contains("newer"))
    }

    @Test(
        "a checkout command targets its stock, payment or order stream",
        arguments: [
            (CheckoutCommandMessage.Kind.reserveStock, "stock-SKU-1"), (.releaseStock, "stock-SKU-1"), (.commitStock, "stock-SKU-1"),
            (.restockStock, "stock-SKU-1"),
            (.authorizePayment, "payment-o-1"), (.refundPayment, "payment-o-1"), (.confirmOrder, "order-o-1"), (.cancelOrder, "order-o-1"),
        ])
    func commandTargetStream(kind: CheckoutCommandMessage.Kind, stream: String) {
        let message = CheckoutCommandMessage(commandId: "cmd-1", type: kind, orderId: "o-1", sku: "SKU-1", correlationId: "corr-1")
        #expect(message.targetStream == stream)
    }

    @Test("a RefundPayment message of a version before refund ids reads with neither refund id nor amount (the dispatcher takes the checkout's)")
    func refundMessageBeforeRefundIDs() throws {
        let old = #"{"commandId":"checkout:o-1:RefundPayment","type":"RefundPayment","orderId":"o-1","correlationId":"o-1"}"#
        let message = try JSONDecoder().decode(CheckoutCommandMessage.self, from: Data(old.utf8))
        #expect(message.refundId == nil && message.amountCents == nil && message.targetStream == "payment-o-1")
    }
}
