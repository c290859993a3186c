public import EventSourcing

/// One example payload per returns event type (the schema gate and the event catalog).
public enum ReturnsExamples {
    static let order = "0b5c1f9e-3c1e-4a57-9d7e-2f4b8f0a6c11"
    static let id = "\(order).r1a2b3c4d"
    static let lines = [ReturnLine(sku: "PEN", quantity: 2, unitPriceCents: 150)]

    public static let all: [EventExample] = [
        EventExample(
            streamType: Return.category, type: "ReturnRequested",
            payload: ReturnRequested(returnId: id, orderId: order, lines: lines, amountCents: 300, reason: "too small")),
        EventExample(streamType: Return.category, type: "ReturnReceived", payload: ReturnReceived(returnId: id, orderId: order, lines: lines, amountCents: 300)),
        EventExample(streamType: Return.category, type: "ReturnCompleted", payload: ReturnCompleted(returnId: id, orderId: order, refundedCents: 300)),
        EventExample(
            streamType: Return.category, type: "ReturnRefundFailed", payload: ReturnRefundFailed(returnId: id, orderId: order, reason: "refund declined")),
    ]
}
