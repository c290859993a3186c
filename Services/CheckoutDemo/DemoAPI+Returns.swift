import Foundation
import JSONClient

/// The returns calls the demo makes: as a customer (asking to return), as the warehouse
/// (receiving the goods) and as anyone reading the views.
extension DemoAPI {
    /// How the command service answered a return request.
    enum ReturnAnswer: Sendable, Equatable {
        case accepted(returnID: String)
        case refused(status: Int, code: String?, field: String?)
    }

    /// A return as its read model shows it.
    struct ReturnView: Sendable, Equatable {
        var status: String
        var amountCents: Int
        var refundedCents: Int
    }

    /// What the order view says about refunds: checkout's own sum, and returns' extension.
    struct OrderRefunds: Sendable, Equatable {
        var refundedCents: Int
        var extensionRefundedCents: Int
        /// Return id → status, from `extensions.returns.returns`.
        var returns: [String: String]
    }

    /// Asks to return `quantity` of `sku`. Returns learns orders from Kafka into a read model of
    /// its own, so "not known yet" (404) and "not completed yet" (422 `order_not_completed`: the
    /// confirmation is not projected yet) are asked again, up to 60 s, under the same
    /// Idempotency-Key; any other answer is final.
    func requestReturn(orderID: String, sku: String, quantity: Int, reason: String = "does not fit") async throws -> ReturnAnswer {
        let body = try JSONBody.object(["lines": [["sku": sku, "quantity": quantity]], "reason": reason])
        let key = UUID().uuidString
        var last = ReturnAnswer.refused(status: 0, code: nil, field: nil)
        for _ in 0..<300 {
            let answer = try await client.send(.post, "\(command)/orders/\(orderID)/returns", body: body, idempotencyKey: key)
            if answer.status == 201, let id = answer.json?["returnId"] as? String { return .accepted(returnID: id) }
            let error = answer.serviceError
            last = .refused(status: answer.status, code: error?.code, field: error?.field)
            guard answer.status == 404 || (answer.status == 422 && error?.code == "order_not_completed") else { return last }
            try await Task.sleep(for: .milliseconds(200))
        }
        return last
    }

    /// The warehouse got the goods: starts the returns process.
    func receiveReturn(_ returnID: String) async throws {
        try await client.send(.post, "\(command)/returns/\(returnID)/receive").require(status: 200)
    }

    /// The return's view once it has ended (completed or refund_failed), or the last one seen
    /// (nil: never projected) after 60 s.
    func waitForReturnEnd(_ returnID: String) async throws -> ReturnView? {
        var seen: ReturnView?
        for _ in 0..<300 {
            let answer = try await client.get("\(projection)/returns/\(returnID)")
            if answer.status == 200, let json = answer.json, let status = json["status"] as? String {
                seen = ReturnView(status: status, amountCents: json["amountCents"] as? Int ?? -1, refundedCents: json["refundedCents"] as? Int ?? -1)
                if status == "completed" || status == "refund_failed" { return seen }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        return seen
    }

    /// The returns process's state as the orchestrator shows it (`running`, `completed`, `failed`).
    func returnProcessState(_ returnID: String) async throws -> String? {
        let answer = try await client.get("\(saga)/return-processes/\(returnID)")
        return answer.status == 200 ? answer.json?["state"] as? String : nil
    }

    /// The order view's refunds once `done` holds for them, or the last seen after 60 s: the
    /// refund (payment topic) and the return (returns topic) are projected independently.
    func waitForOrderRefunds(_ orderID: String, until done: (OrderRefunds) -> Bool) async throws -> OrderRefunds? {
        var seen: OrderRefunds?
        for _ in 0..<300 {
            let answer = try await client.get("\(projection)/orders/\(orderID)")
            if answer.status == 200, let json = answer.json {
                let returns = (json["extensions"] as? [String: Any])?["returns"] as? [String: Any]
                let entries = returns?["returns"] as? [[String: Any]] ?? []
                var statuses: [String: String] = [:]
                for entry in entries {
                    if let id = entry["returnId"] as? String { statuses[id] = entry["status"] as? String ?? "?" }
                }
                let refunds = OrderRefunds(
                    refundedCents: json["refundedCents"] as? Int ?? -1, extensionRefundedCents: returns?["refundedCents"] as? Int ?? 0, returns: statuses)
                seen = refunds
                if done(refunds) { return refunds }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        return seen
    }

    /// The SKU's stock on hand in the read model (nil: not known there).
    func stockOnHandView(_ sku: String) async throws -> Int? {
        let answer = try await client.get("\(projection)/stock/\(sku)")
        return answer.status == 200 ? answer.json?["onHand"] as? Int : nil
    }
}
