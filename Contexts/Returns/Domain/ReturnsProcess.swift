import Checkout
public import EventSourcing
public import Foundation

/// A command on `returns.commands`: the process manager records how a return's refund ended.
public struct ReturnsCommandMessage: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case completeReturn = "CompleteReturn"
        case failReturnRefund = "FailReturnRefund"
    }

    public var commandId: String
    public var type: Kind
    public var returnId: String
    public var refundedCents: Int?
    public var reason: String?
    public var correlationId: String
}

public struct ReturnProcessState: Codable, Sendable, Equatable {
    public var returnID: String
    public var orderID: String
    public var lines: [ReturnLine]
    public var amountCents: Int
    /// Each retry asks again under a new command id (the payment answers a refund id once).
    public var attempt = 1
}

/// Received goods -> restock the returned quantities and refund the returned amount, under the
/// return's id as the refund id (the payment pays a refund id once, never more than captured)
/// -> completed. Its commands carry the return's id as their correlation id, so every event
/// they cause names the return. A declined or unanswered refund leaves the return `refund_failed` and the
/// process failed, for an operator's retry.
public struct ReturnsProcess: SagaDefinition {
    public let name = "returns"
    public let refundDeadline: Duration
    /// The command topic of a context, by name.
    public let commandTopic: @Sendable (String) -> String

    public init(refundDeadline: Duration, commandTopic: @escaping @Sendable (String) -> String) {
        self.refundDeadline = refundDeadline
        self.commandTopic = commandTopic
    }

    public func correlationID(of event: RecordedEvent) -> String? {
        switch event.streamType {
        case Return.category:
            guard event.type == "ReturnReceived" else { return nil }
            // The id from the payload as it is, not from a full decode: a received return this
            // code cannot read must fail its instance (for an operator), not pass unseen.
            guard case .object(let payload)? = try? JSONDecoder().decode(JSONValue.self, from: Data(event.payload)),
                case .string(let id)? = payload["returnId"]
            else { return nil }
            return id
        case Payment.category:
            switch try? Payment.codec.decode(event.encoded) {
            case .refunded(let refund)?: return refund.refundId
            case .refundDeclined(let declined)?: return declined.refundId
            default: return nil
            }
        default: return nil
        }
    }

    public func mayStart(_ event: RecordedEvent) -> Bool { event.streamType == Return.category && event.type == "ReturnReceived" }

    public func start(with event: RecordedEvent, now: Date) throws -> SagaReaction<ReturnProcessState>? {
        guard event.streamType == Return.category, case .received(let received) = try Return.codec.decode(event.encoded) else { return nil }
        let state = ReturnProcessState(
            returnID: received.returnId, orderID: received.orderId, lines: received.lines, amountCents: received.amountCents)
        let restocks = state.lines.map { line in
            checkout(.restockStock, state, suffix: "restock:\(line.sku)", sku: line.sku, quantity: line.quantity)
        }
        return refunding(state, now: now, extra: restocks, note: "goods received; restocking and refunding \(state.amountCents) cents")
    }

    public func react(to event: RecordedEvent, in state: ReturnProcessState, now: Date) throws -> SagaReaction<ReturnProcessState> {
        switch try? Payment.codec.decode(event.encoded) {
        case .refunded(let refund)?:
            return SagaReaction(
                state: state, status: .completed, step: "completed", commands: [record(.completeReturn, state, refunded: refund.amountCents)],
                note: "refunded \(refund.amountCents) cents")
        case .refundDeclined(let declined)?:
            return failed(state, reason: "refund declined: \(declined.reason)")
        default:
            return SagaReaction(state: state, status: .running, step: "refunding", deadline: .keep)
        }
    }

    public func deadlinePassed(in state: ReturnProcessState, now: Date) -> SagaReaction<ReturnProcessState> {
        failed(state, reason: "the payment did not answer the refund within \(refundDeadline)")
    }

    public func retry(_ state: ReturnProcessState, now: Date) -> SagaReaction<ReturnProcessState> {
        var state = state
        state.attempt += 1
        return refunding(state, now: now, extra: [], note: "refund asked again (attempt \(state.attempt))")
    }

    private func refunding(_ state: ReturnProcessState, now: Date, extra: [SagaCommand], note: String) -> SagaReaction<ReturnProcessState> {
        let refund = checkout(.refundPayment, state, suffix: "refund:\(state.attempt)", amount: state.amountCents)
        return SagaReaction(
            state: state, status: .running, step: "refunding", commands: extra + [refund], deadline: .at(now + refundDeadline),
            note: note)
    }

    private func failed(_ state: ReturnProcessState, reason: String) -> SagaReaction<ReturnProcessState> {
        SagaReaction(state: state, status: .failed, step: "refund_failed", commands: [record(.failReturnRefund, state, reason: reason)], note: reason)
    }

    private func checkout(
        _ kind: CheckoutCommandMessage.Kind, _ state: ReturnProcessState, suffix: String, sku: String? = nil, quantity: Int? = nil, amount: Int? = nil
    ) -> SagaCommand {
        let id = "\(name):\(state.returnID):\(suffix)"
        let message = CheckoutCommandMessage(
            commandId: id, type: kind, orderId: state.orderID, sku: sku, quantity: quantity, amountCents: amount,
            refundId: kind == .refundPayment ? state.returnID : nil, correlationId: state.returnID)
        return SagaCommand(id: id, type: kind.rawValue, topic: commandTopic("checkout"), key: message.targetStream, payload: Self.encode(message))
    }

    private func record(_ kind: ReturnsCommandMessage.Kind, _ state: ReturnProcessState, refunded: Int? = nil, reason: String? = nil) -> SagaCommand {
        let id = "\(name):\(state.returnID):\(kind.rawValue):\(state.attempt)"
        let message = ReturnsCommandMessage(
            commandId: id, type: kind, returnId: state.returnID, refundedCents: refunded, reason: reason, correlationId: state.returnID)
        return SagaCommand(
            id: id, type: kind.rawValue, topic: commandTopic("returns"), key: Return.stream(orderID: state.orderID).description, payload: Self.encode(message))
    }

    private static func encode(_ message: some Encodable) -> [UInt8] {
        (try? Array(EventJSON.encoder().encode(message))) ?? []
    }
}
