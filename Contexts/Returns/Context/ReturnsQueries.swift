import BoundedContexts
import EventSourcing
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceHTTP

/// `GET /returns/{returnId}` (status, lines, amounts, timeline) and the returns of an order as
/// an extension of checkout's order view.
enum ReturnsQueries {
    static let columns = "return_id, order_id, status, lines::text, amount_cents, refunded_cents, reason, requested_at, updated_at, timeline::text"

    static func register(on routes: ContextRouter, _ environment: QueryEnvironment) {
        routes.router.get("/returns/:returnId") { _, context in
            let id = try RequestJSON.idParameter("returnId", of: context)
            let rows = try await environment.client.liveQuery(
                "SELECT \(unescaped: columns) FROM read_models.returns WHERE return_id = \(id)", logger: environment.logger)
            guard let row = rows.first else { throw ServiceError.notFound("return", id: id) }
            return try JSONResponse.make(try view(row))
        }
    }

    /// The order's returns, oldest first, for `extensions.returns` of the order view.
    static let orderView = ViewExtension(view: "order") { client, logger, orderID in
        let returns = try await client.liveQuery(
            "SELECT \(unescaped: columns) FROM read_models.returns WHERE order_id = \(orderID) ORDER BY requested_at", logger: logger
        ).map(view)
        guard !returns.isEmpty else { return nil }
        return .object([
            "returns": .array(returns.map { .object($0.filter { $0.key != "timeline" }) }),
            "refundedCents": .integer(returns.reduce(0) { total, entry in if case .integer(let cents)? = entry["refundedCents"] { total + cents } else { total } }),
        ])
    }

    static func view(_ row: PostgresRow) throws -> [String: JSONValue] {
        let r = try row.decode((String, String, String, String, Int64, Int64, String, Date, Date, String).self)
        let decoder = JSONDecoder()
        return [
            "returnId": .string(r.0), "orderId": .string(r.1), "status": .string(r.2), "lines": try decoder.decode(JSONValue.self, from: Data(r.3.utf8)),
            "amountCents": .integer(r.4), "refundedCents": .integer(r.5), "reason": .string(r.6),
            "requestedAt": .string(r.7.formatted(.iso8601)), "updatedAt": .string(r.8.formatted(.iso8601)),
            "timeline": try decoder.decode(JSONValue.self, from: Data(r.9.utf8)),
        ]
    }
}
