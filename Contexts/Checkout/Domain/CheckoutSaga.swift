public import EventSourcing
public import Foundation

/// The order/checkout saga:
///
///     OrderPlaced -> reserve every SKU -> all reserved -> authorize payment -> authorized
///       -> confirm order -> confirmed -> commit every reservation -> completed
///
/// Compensation (out of stock, payment declined, no answer in time, customer cancel): release
/// every SKU that is not settled, refund an authorized payment, then cancel the order (unless
/// the customer already did) -> compensated. The order is confirmed before stock is committed,
/// so a customer's cancel that wins the race leaves nothing committed for a cancelled order.
///
/// Releases go to every SKU of the order, also those whose reservation has not answered yet:
/// the Stock decider settles an order's release at most once and refuses a reservation that
/// arrives after it, so stock balances whatever the order of arrival. (It remembers only recent
/// orders; a reservation that arrives later still is released again by the saga.)
///
/// Its refund is its own: asked as `Payment.checkoutRefundID` for all that is not refunded yet.
/// Refunds other contexts ask of the same payment (returns) are not its business and move
/// nothing; an answer to its own refund, paid or declined (nothing was left), settles it.
public struct CheckoutSaga: SagaDefinition {
    public struct Timeouts: Sendable, Equatable {
        /// How long a step waits for its replies before sending its commands again.
        public var step: Duration
        /// The payment step's deadline (the gateway may stay silent).
        public var payment: Duration
        /// How many times a step's commands are sent again before giving up.
        public var retries: Int

        public init(step: Duration = .seconds(10), payment: Duration = .seconds(10), retries: Int = 2) {
            self.step = step
            self.payment = payment
            self.retries = retries
        }
    }

    /// The saga's name (its instances' `saga`, the admission bound of order placements).
    public static let sagaName = "checkout"
    public var name: String { Self.sagaName }
    public let timeouts: Timeouts
    /// Where its commands go (`CheckoutNames.Topics.commands`).
    public let commandTopic: String

    public init(timeouts: Timeouts = Timeouts(), commandTopic: String) {
        self.timeouts = timeouts
        self.commandTopic = commandTopic
    }

    public func correlationID(of event: RecordedEvent) -> String? {
        guard [Order.category, Stock.category, Payment.category].contains(event.streamType) else { return nil }
        if let decoded = try? CheckoutEvent.decode(event) { return decoded.orderID }
        // Not decodable (a version this code does not know): still route it to its saga, whose
        // `react` then fails with the decoding error for an operator to see, instead of dropping it.
        guard case .object(let fields) = try? JSONDecoder().decode(JSONValue.self, from: Data(event.payload)),
            case .string(let orderID) = fields["orderId"]
        else { return nil }
        return orderID
    }

    public func mayStart(_ event: RecordedEvent) -> Bool { event.streamType == Order.category && event.type == "OrderPlaced" }

    public func start(with event: RecordedEvent, now: Date) throws -> SagaReaction<CheckoutSagaState>? {
        guard case .order(.placed(let placed)) = try CheckoutEvent.decode(event) else { return nil }
        var quantities: [String: Int] = [:]
        for line in placed.lines { quantities[line.sku, default: 0] += line.quantity }
        let state = CheckoutSagaState(
            orderID: placed.orderId, correlationID: event.correlationID, quantities: quantities, amountCents: placed.totalCents,
            paymentMethod: placed.paymentMethod)
        return enter(.reserving, state, now: now, note: "order placed: \(quantities.count) SKU(s), \(placed.totalCents) cents")
    }

    public func react(to event: RecordedEvent, in state: CheckoutSagaState, now: Date) throws -> SagaReaction<CheckoutSagaState> {
        var state = state
        let causation = event.eventID.uuidString
        switch try CheckoutEvent.decode(event) {
        case .order(.placed):
            return stay(state, note: "order placed again (ignored)")
        case .stock(.reserved(let e)):
            if state.phase.isTerminal || state.phase.isCompensating && state.isSettled(e.sku) {
                // A reservation after the saga let go of this SKU: the stock no longer remembered
                // the order as settled (`RecentOrders`), so give the reservation back.
                return SagaReaction(
                    state: state, status: state.status, step: state.phase.rawValue,
                    commands: [command(.releaseStock, state, sku: e.sku, causation: causation, after: causation)], deadline: .keep,
                    note: "reserved \(e.quantity) × \(e.sku) after letting go of it; releasing it again")
            }
            state.reserved.insert(e.sku)
            if state.phase == .reserving && state.reserved.count == state.quantities.count {
                return enter(.authorizing, state, now: now, causation: causation, note: "all \(state.quantities.count) SKU(s) reserved")
            }
            return stay(state, note: "reserved \(e.quantity) × \(e.sku)")
        case .stock(.reservationRejected(let e)):
            state.rejected.insert(e.sku)
            if state.phase == .reserving {
                return compensate(state, because: "out of stock: \(e.sku) (\(e.quantity) wanted, \(e.available) available)", now: now, causation: causation)
            }
            return progressCompensation(state, now: now, causation: causation, note: "reservation of \(e.sku) refused")
        case .stock(.released(let e)):
            state.released.insert(e.sku)
            return progressCompensation(state, now: now, causation: causation, note: "released \(e.quantity) × \(e.sku)")
        case .stock(.committed(let e)):
            state.committed.insert(e.sku)
            if state.phase == .committing && state.committed.count == state.quantities.count {
                return finish(state, as: .completed, note: "all reservations committed: checkout completed")
            }
            return stay(state, note: "committed \(e.quantity) × \(e.sku)")
        case .stock(.restocked), .customer:
            return stay(state, note: nil)
        case .payment(.authorized(let e)):
            state.paymentAuthorized = true
            if state.phase == .authorizing {
                return enter(.confirming, state, now: now, causation: causation, note: "payment authorized (\(e.authorizationId))")
            }
            if state.phase.isCompensating || state.phase == .compensated {
                // Authorized after we gave up on it (a slow gateway): refund it.
                return SagaReaction(
                    state: state, status: state.status, step: state.phase.rawValue, commands: [command(.refundPayment, state, causation: causation)],
                    deadline: .keep, note: "payment authorized late; refunding")
            }
            return stay(state, note: "payment authorized")
        case .payment(.declined(let e)):
            if state.phase == .authorizing {
                return compensate(state, because: "payment declined: \(e.reason)", now: now, causation: causation)
            }
            return stay(state, note: "payment declined: \(e.reason)")
        case .payment(.refunded(let e)):
            guard e.refundId == Payment.checkoutRefundID(orderID: state.orderID) else {
                return stay(state, note: "refund \(e.refundId) of \(e.amountCents) cents is not this checkout's (ignored)")
            }
            state.refunded = true
            return progressCompensation(state, now: now, causation: causation, note: "payment refunded, \(e.amountCents) cents")
        case .payment(.refundDeclined(let e)):
            guard e.refundId == Payment.checkoutRefundID(orderID: state.orderID) else {
                return stay(state, note: "refund \(e.refundId) declined, not this checkout's (ignored)")
            }
            // The saga asks for whatever is left: declined means other refunds gave it all back.
            state.refunded = true
            return progressCompensation(state, now: now, causation: causation, note: "refund declined: \(e.reason); nothing left to give back")
        case .order(.confirmed):
            if state.phase == .confirming {
                return enter(.committing, state, now: now, causation: causation, note: "order confirmed")
            }
            return stay(state, note: "order confirmed")
        case .order(.cancelled(let e)):
            state.orderCancelled = true
            if state.phase.isCompensating {
                return progressCompensation(state, now: now, causation: causation, note: "order cancelled: \(e.reason)")
            }
            if state.phase.isTerminal { return stay(state, note: "order cancelled: \(e.reason)") }
            return compensate(state, because: "cancelled by the customer: \(e.reason)", now: now, causation: causation)
        }
    }

    public func deadlinePassed(in state: CheckoutSagaState, now: Date) -> SagaReaction<CheckoutSagaState> {
        var state = state
        guard !state.phase.isTerminal, state.failedStep == nil else { return stay(state, note: nil) }
        if state.attempt < timeouts.retries {
            state.attempt += 1
            return SagaReaction(
                state: state, status: .running, step: state.phase.rawValue, commands: commands(for: state, causation: nil),
                deadline: .at(now + resendWait(state)),
                note: "no answer in time; sending \(state.phase.rawValue) commands again (retry \(state.attempt) of \(timeouts.retries))")
        }
        switch state.phase {
        case .reserving:
            return compensate(state, because: "stock did not answer within the deadline", now: now, causation: nil)
        case .authorizing:
            return compensate(state, because: "payment gateway did not answer within \(timeouts.payment)", now: now, causation: nil)
        default:
            state.failedStep = state.phase
            return SagaReaction(
                state: state, status: .failed, step: state.phase.rawValue,
                note: "\(state.phase.rawValue) got no answer after \(timeouts.retries) retries; an operator must retry")
        }
    }

    public func retry(_ state: CheckoutSagaState, now: Date) -> SagaReaction<CheckoutSagaState> {
        guard !state.phase.isTerminal else { return stay(state, note: "finished; nothing to retry") }
        var state = state
        state.attempt = 0
        state.failedStep = nil
        return SagaReaction(
            state: state, status: .running, step: state.phase.rawValue, commands: commands(for: state, causation: nil),
            deadline: deadline(for: state.phase, now: now), note: "retried by an operator")
    }

    // MARK: - Steps

    private func enter(
        _ phase: CheckoutSagaState.Phase, _ state: CheckoutSagaState, now: Date, causation: String? = nil, note: String
    ) -> SagaReaction<CheckoutSagaState> {
        var state = state
        state.phase = phase
        state.attempt = 0
        state.failedStep = nil
        return SagaReaction(
            state: state, status: .running, step: phase.rawValue, commands: commands(for: state, causation: causation),
            deadline: deadline(for: phase, now: now), note: note)
    }

    private func compensate(_ state: CheckoutSagaState, because reason: String, now: Date, causation: String?) -> SagaReaction<CheckoutSagaState> {
        var state = state
        state.reason = reason
        state.phase = .releasing
        state.attempt = 0
        state.failedStep = nil
        return progressCompensation(state, now: now, causation: causation, note: "compensating: \(reason)", resend: true)
    }

    /// Moves compensation on when its step is done: releasing (and refunding) -> cancelling the
    /// order -> compensated. `resend` sends the current step's commands (entering the step).
    private func progressCompensation(
        _ state: CheckoutSagaState, now: Date, causation: String?, note: String, resend: Bool = false
    ) -> SagaReaction<CheckoutSagaState> {
        guard state.phase.isCompensating else { return stay(state, note: note) }
        if state.phase == .releasing && state.allSettled && state.refundDone {
            guard !state.orderCancelled else { return finish(state, as: .compensated, note: "\(note); compensation complete") }
            return enter(.cancelling, state, now: now, causation: causation, note: "\(note); stock released, cancelling the order")
        }
        if state.phase == .cancelling && state.orderCancelled && state.refundDone {
            return finish(state, as: .compensated, note: "\(note); compensation complete")
        }
        return SagaReaction(
            state: state, status: .running, step: state.phase.rawValue, commands: resend ? commands(for: state, causation: causation) : [],
            deadline: resend ? deadline(for: state.phase, now: now) : .keep, note: note)
    }

    private func finish(_ state: CheckoutSagaState, as status: SagaStatus, note: String) -> SagaReaction<CheckoutSagaState> {
        var state = state
        state.phase = status == .completed ? .completed : .compensated
        // A step that gave up earlier is settled now: the saga is finished, not failed.
        state.failedStep = nil
        return SagaReaction(state: state, status: status, step: state.phase.rawValue, note: note)
    }

    /// No step change: the deadline in force stays.
    private func stay(_ state: CheckoutSagaState, note: String?) -> SagaReaction<CheckoutSagaState> {
        SagaReaction(state: state, status: state.status, step: state.phase.rawValue, deadline: .keep, note: note)
    }

    /// How long a resend waits: the step's wait doubled per resend, plus up to a fifth more,
    /// spread by order and attempt (a fixed hash, so the saga stays a pure function), so that
    /// sagas a stalled participant left silent at once do not all resend at once again.
    public func resendWait(_ state: CheckoutSagaState) -> Duration {
        let wait = state.phase == .authorizing ? timeouts.payment : timeouts.step
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in "\(state.orderID)#\(state.attempt)".utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        let spread = Double(hash % 1_000) / 5_000
        return wait * (1 << min(state.attempt, 6)) + wait * spread
    }

    private func deadline(for phase: CheckoutSagaState.Phase, now: Date) -> SagaDeadline {
        guard !phase.isTerminal else { return .none }
        let wait = phase == .authorizing ? timeouts.payment : timeouts.step
        return .at(now + wait)
    }

    // MARK: - Commands

    /// The commands a step waits on, for the replies not yet received. The same state gives the
    /// same ids, so sending them again is harmless.
    func commands(for state: CheckoutSagaState, causation: String?) -> [SagaCommand] {
        let pending = state.quantities.keys.sorted()
        switch state.phase {
        case .reserving:
            return pending.filter { !state.reserved.contains($0) && !state.rejected.contains($0) }
                .map { command(.reserveStock, state, sku: $0, causation: causation) }
        case .authorizing:
            return [command(.authorizePayment, state, causation: causation)]
        case .confirming:
            return [command(.confirmOrder, state, causation: causation)]
        case .committing:
            return pending.filter { !state.committed.contains($0) }.map { command(.commitStock, state, sku: $0, causation: causation) }
        case .releasing:
            let releases = pending.filter { !state.isSettled($0) }.map { command(.releaseStock, state, sku: $0, causation: causation) }
            let refund = state.paymentAuthorized && !state.refunded ? [command(.refundPayment, state, causation: causation)] : []
            return releases + refund
        case .cancelling:
            let cancel = state.orderCancelled ? [] : [command(.cancelOrder, state, causation: causation)]
            let refund = state.paymentAuthorized && !state.refunded ? [command(.refundPayment, state, causation: causation)] : []
            return cancel + refund
        case .completed, .compensated:
            return []
        }
    }

    /// `after` names the event a command answers when the step's own command of that kind was
    /// already sent (its id is spent: the command service would answer it from its command log).
    private func command(
        _ kind: CheckoutCommandMessage.Kind, _ state: CheckoutSagaState, sku: String? = nil, causation: String?, after: String? = nil
    ) -> SagaCommand {
        let id = ["\(name)", state.orderID, kind.rawValue, sku, after.map { "after-\($0)" }].compactMap { $0 }.joined(separator: ":")
        let message = CheckoutCommandMessage(
            commandId: id, type: kind, orderId: state.orderID, sku: sku, quantity: sku.flatMap { state.quantities[$0] },
            amountCents: kind == .authorizePayment ? state.amountCents : nil,
            paymentMethod: kind == .authorizePayment ? state.paymentMethod : nil,
            reason: kind == .cancelOrder ? state.reason : nil,
            refundId: kind == .refundPayment ? Payment.checkoutRefundID(orderID: state.orderID) : nil, correlationId: state.correlationID,
            causationId: causation)
        let payload = (try? EventJSON.encoder().encode(message)).map(Array.init) ?? []
        return SagaCommand(id: id, type: kind.rawValue, topic: commandTopic, key: message.targetStream, payload: payload)
    }
}
