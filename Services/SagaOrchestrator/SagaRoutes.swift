import Checkout
import EventSourcing
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Sagas
import ServiceSupport

/// `GET /sagas/{orderId}` (state, step, pending deadline, history), `GET /sagas?state=` and the
/// admin retry of a failed saga.
struct SagaRoutes: Sendable {
    let queries: SagaQueries
    let store: SagaStore<CheckoutSaga>
    let client: PostgresClient
    let hold: CommandHold
    let logger: Logger

    var saga: String { store.definition.name }

    func register(on router: Router<BasicRequestContext>, token: String?) {
        router.get("/sagas/:orderId") { _, context in
            let id = try Self.orderID(context)
            guard let view = try await queries.instance(saga: saga, correlationID: id) else { throw ServiceError.notFound("saga", id: id) }
            return try JSONResponse.make(view)
        }
        router.get("/sagas") { request, _ in
            struct Listing: Encodable {
                var sagas: [SagaInstanceView]
                var counts: [String: Int64]
            }
            let query = request.uri.queryParameters
            var status: SagaStatus?
            if let text = query.get("state") {
                guard let parsed = SagaStatus(rawValue: text) else {
                    throw ServiceError.invalidField("state", reason: "must be one of \(SagaStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                status = parsed
            }
            var limit = 100
            if let text = query.get("limit") {
                guard let value = Int(text), (1...1_000).contains(value) else {
                    throw ServiceError.invalidField("limit", reason: "must be a whole number from 1 to 1000")
                }
                limit = value
            }
            return try JSONResponse.make(
                Listing(sagas: try await queries.list(saga: saga, status: status, limit: limit), counts: try await queries.counts(saga: saga)))
        }
        let admin = router.adminGroup(token: token, client: client, service: "saga-orchestrator", logger: logger)
        // Drill switch: hold one command type in the relay (and the later commands of its keys).
        admin.post("/faults") { request, context in
            let body: HoldRequest
            do {
                body = try await request.decode(as: HoldRequest.self, context: context)
            } catch {
                throw ServiceError.invalidField("body", reason: "needs holdCommandType (a command type) and enabled (true or false)")
            }
            guard CheckoutCommandMessage.Kind(rawValue: body.holdCommandType) != nil else {
                throw ServiceError.invalidField("holdCommandType", reason: "must be a checkout command type such as AuthorizePayment")
            }
            hold.set(body.holdCommandType, held: body.enabled)
            return try JSONResponse.make(["held": hold.heldTypes.sorted()])
        }
        admin.post("/sagas/:orderId/retry") { request, context in
            let id = try Self.orderID(context)
            do {
                let status = try await store.retry(id, operator: request.operatorName)
                return try JSONResponse.make(["orderId": id, "state": status.rawValue])
            } catch let error as SagaStore<CheckoutSaga>.NotRetryable {
                if error.status == nil { throw ServiceError.notFound("saga", id: id) }
                throw ServiceError(.conflict, code: "not_failed", message: error.description, details: ["state": error.status ?? ""])
            }
        }
    }

    struct HoldRequest: Decodable {
        var holdCommandType: String
        var enabled: Bool
    }

    /// 400 unless the id keeps `InputLimits`' id rule, as everywhere else an order id is taken.
    private static func orderID(_ context: BasicRequestContext) throws -> String {
        guard let id = context.parameters.get("orderId"), !id.isEmpty else { throw ServiceError.invalidField("orderId", reason: "is required") }
        guard InputLimits.isValidID(id) else {
            throw ServiceError.invalidField("orderId", reason: "must be 1 to \(InputLimits.maxIDLength) characters of A-Z a-z 0-9 . _ -")
        }
        return id
    }
}
