import Foundation
import JSONClient
import Synchronization

/// Partial returns of a share of the drill's checkouts, while the faults go on: once a chosen
/// checkout completed, one of its units is returned and received, which starts the returns
/// process (restock and refund through checkout's command channel). Like a careful client it
/// asks again, under the same Idempotency-Key, when it gets no answer or a 5xx. The settle then
/// waits until every received return has ended (`DrillSettle`), so the invariant checker judges
/// only finished returns.
final class ReturnLoad: Sendable {
    struct Tally: Sendable, Equatable, Codable {
        /// Accepted checkouts picked for a return.
        var chosen = 0
        /// Picked, but their checkout did not complete (nothing to return).
        var notCompleted = 0
        var requested = 0
        var received = 0
        /// A 4xx other than "not known / not completed yet": never expected from the drill's input.
        var rejected = 0
        /// No final answer within the client's patience.
        var gaveUp = 0
        /// Still under way when the load stopped (before its receive was answered).
        var abandoned = 0
        /// Sent again after no answer or a 5xx (a fault in the way).
        var retried = 0
        /// Asked again because returns' read model did not know the order, or its completion, yet.
        var waitedForReadModel = 0
    }

    /// One in six checkouts: those of index 1 mod 6 buy 2 units (`CheckoutLoad.place`), of
    /// which one comes back, so every return is partial; only checkouts meant to succeed.
    static func isChosen(_ index: Int, scenario: CheckoutLoad.Scenario) -> Bool {
        scenario == .success && index % 6 == 1
    }

    /// One unit, whatever was bought: a request decided again after a lost answer must fit in
    /// what is left once the first one counted (see the report's note on retried requests).
    static let quantity = 1

    private let http: JSONClient
    private let commandURL: String
    private let orchestratorURL: String
    private let patience: Duration
    private let tally = Mutex(Tally())

    init(http: JSONClient, commandURL: String, orchestratorURL: String, patience: Duration = .seconds(120)) {
        self.http = http
        self.commandURL = commandURL
        self.orchestratorURL = orchestratorURL
        self.patience = patience
    }

    var current: Tally { tally.withLock { $0 } }

    /// Waits for the checkout to complete, then returns `quantity` of `sku` and receives it.
    func returnPart(of orderID: String, sku: String) async {
        tally.withLock { $0.chosen += 1 }
        let deadline = ContinuousClock.now + patience
        switch await checkoutEnd(orderID, deadline: deadline) {
        case .completed: break
        case .other: return tally.withLock { $0.notCompleted += 1 }
        case .cancelled: return tally.withLock { $0.abandoned += 1 }
        case .timedOut: return tally.withLock { $0.gaveUp += 1 }
        }
        let body = JSONBody(raw: #"{"lines":[{"sku":"\#(sku)","quantity":\#(Self.quantity)}],"reason":"drill return"}"#)
        let request = await ask(.post, "\(commandURL)/orders/\(orderID)/returns", body: body, key: UUID().uuidString, deadline: deadline) { answer in
            // Returns learns orders from Kafka: not known yet, or not completed yet, is asked again.
            answer.status == 404 || answer.serviceError?.code == "order_not_completed"
        }
        guard case .answered(let answer) = request else { return count(request) }
        guard answer.status == 201, let returnID = answer.json?["returnId"] as? String else { return tally.withLock { $0.rejected += 1 } }
        tally.withLock { $0.requested += 1 }
        // Receiving twice changes nothing (the return is no longer `requested`): no key needed.
        let receive = await ask(.post, "\(commandURL)/returns/\(returnID)/receive", body: nil, key: nil, deadline: deadline) { _ in false }
        guard case .answered(let received) = receive else { return count(receive) }
        tally.withLock {
            if received.status == 200 { $0.received += 1 } else { $0.rejected += 1 }
        }
    }

    private enum CheckoutEnd { case completed, other, cancelled, timedOut }

    /// How the checkout's saga ended, asked of the orchestrator (which the drill crashes: no
    /// answer is asked again).
    private func checkoutEnd(_ orderID: String, deadline: ContinuousClock.Instant) async -> CheckoutEnd {
        while ContinuousClock.now < deadline {
            if Task.isCancelled { return .cancelled }
            if let answer = try? await http.get("\(orchestratorURL)/sagas/\(orderID)", timeout: .seconds(5)), answer.status == 200,
                let state = answer.json?["state"] as? String, state != "running"
            {
                return state == "completed" ? .completed : .other
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return .timedOut
    }

    private enum Asked {
        case answered(JSONResponse)
        case cancelled, timedOut
    }

    private func count(_ asked: Asked) {
        tally.withLock {
            if case .cancelled = asked { $0.abandoned += 1 } else { $0.gaveUp += 1 }
        }
    }

    /// Sends until a final answer: no answer or a 5xx is sent again after a backoff, an answer
    /// `again` accepts after a short pause.
    private func ask(
        _ method: JSONClient.Method, _ url: String, body: JSONBody?, key: String?, deadline: ContinuousClock.Instant,
        again: (JSONResponse) -> Bool
    ) async -> Asked {
        var failures = 0
        while ContinuousClock.now < deadline {
            if Task.isCancelled { return .cancelled }
            guard let answer = try? await http.send(method, url, body: body, idempotencyKey: key), answer.status < 500 else {
                failures += 1
                tally.withLock { $0.retried += 1 }
                try? await Task.sleep(for: .milliseconds(min(200 * failures, 2_000)))
                continue
            }
            guard again(answer) else { return .answered(answer) }
            tally.withLock { $0.waitedForReadModel += 1 }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return .timedOut
    }
}
