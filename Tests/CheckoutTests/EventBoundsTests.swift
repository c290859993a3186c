import Checkout
import EventSourcing
import Foundation
import SuiteTesting
import Testing

/// A record anyone can write must not trap the consumer that folds its numbers (issue 22: a
/// `StockReleased` of quantity Int.min trapped the projection service negating it).
@Suite struct EventBoundsTests {
    func event(_ stream: String, _ type: String, _ payload: String) -> RecordedEvent {
        TestEvents.record(
            stream: stream, streamType: String(stream.prefix { $0 != "-" }), version: 1, type: type, payload: payload,
            schemaVersion: EventExamples.schemaVersion(of: type) ?? 1)
    }

    @Test("numbers no checkout event carries are refused when read, naming the field", arguments: [
        ("stock-A", "StockReleased", #"{"sku":"A","orderId":"o","quantity":-9223372036854775808}"#, "quantity"),
        ("stock-A", "StockRestocked", #"{"sku":"A","quantity":9223372036854775807}"#, "quantity"),
        ("stock-A", "StockCommitted", #"{"sku":"A","orderId":"o","quantity":-1}"#, "quantity"),
        ("payment-o", "PaymentRefunded", #"{"orderId":"o","amountCents":-5,"refundId":"r"}"#, "amountCents"),
        ("payment-o", "PaymentRefundDeclined", #"{"orderId":"o","refundId":"r","amountCents":-9223372036854775808,"reason":"x"}"#, "amountCents"),
        (
            "order-o", "OrderPlaced",
            #"{"orderId":"o","customerId":"c","lines":[{"sku":"A","quantity":9223372036854775807,"unitPriceCents":1},{"sku":"A","quantity":9223372036854775807,"unitPriceCents":1}],"totalCents":1,"paymentMethod":"card"}"#,
            "lines[].quantity"
        ),
        ("order-o", "OrderPlaced", #"{"orderId":"o","customerId":"c","lines":[],"totalCents":0,"paymentMethod":"card"}"#, "lines"),
    ])
    func outOfBounds(stream: String, type: String, payload: String, field: String) {
        do {
            _ = try CheckoutEvent.decode(event(stream, type, payload))
            Issue.record("\(type) \(payload) was read")
        } catch let error as EventOutOfBounds {
            #expect(error.field == field)
        } catch {
            Issue.record("refused otherwise: \(error)")
        }
    }

    @Test func everyExampleIsWithinBounds() throws {
        for example in EventExamples.all {
            let payload = String(decoding: try JSONEncoder().encode(example.payload), as: UTF8.self)
            _ = try CheckoutEvent.decode(event("\(example.streamType)-x", example.type, payload))
        }
    }
}
