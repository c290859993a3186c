import EventSourcing
import Foundation
import Hummingbird
import Sagas
import ServiceHTTP

/// A saga's routes at its declared path: `GET <path>/{id}` (state, step, pending deadline,
/// history), `GET <path>?state=` (a listing with counts) and the admin retry of a failed
/// instance, `POST /admin<path>/{id}/retry`.
struct SagaRoutes: Sendable {
    let side: SagaSide
    let runtime: SagaRuntime
    let queries: SagaQueries

    func register(on routes: ContextRouter) {
        let saga = runtime.name
        let parameter = side.idParameter
        routes.router.get("\(side.path)/:\(parameter)") { _, context in
            let id = try RequestJSON.idParameter(parameter, of: context)
            guard let view = try await queries.instance(saga: saga, correlationID: id) else { throw ServiceError.notFound("saga", id: id) }
            return try JSONResponse.make(view)
        }
        routes.router.get(RouterPath(side.path)) { request, _ in
            struct Listing: Encodable {
                var sagas: [SagaInstanceView]
                var counts: [String: Int64]
            }
            var status: SagaStatus?
            if let text = request.uri.queryParameters.get("state") {
                guard let parsed = SagaStatus(rawValue: text) else {
                    throw ServiceError.invalidField("state", reason: "must be one of \(SagaStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                status = parsed
            }
            let limit = try RequestJSON.limit(of: request)
            return try JSONResponse.make(
                Listing(sagas: try await queries.list(saga: saga, status: status, limit: limit), counts: try await queries.counts(saga: saga)))
        }
        routes.admin().post("\(side.path)/:\(parameter)/retry") { request, context in
            let id = try RequestJSON.idParameter(parameter, of: context)
            switch try await runtime.retry(id, request.operatorName) {
            case .retried(let status):
                return try JSONResponse.make([parameter: id, "state": status.rawValue])
            case .notRetryable(let status, let reason):
                guard let status else { throw ServiceError.notFound("saga", id: id) }
                throw ServiceError(.conflict, code: "not_failed", message: reason, details: ["state": status])
            }
        }
    }
}

/// `POST /admin/faults` on the orchestrator, the drill switch: hold one command type in the
/// relay (and the later commands of its keys).
struct CommandHoldRoute: Sendable {
    let hold: CommandHold
    let commandTypes: Set<String>

    struct HoldRequest: Decodable {
        var holdCommandType: String
        var enabled: Bool
    }

    func register(on admin: RouterGroup<BasicRequestContext>) {
        admin.post("/faults") { request, context in
            let body: HoldRequest
            do {
                body = try await request.decode(as: HoldRequest.self, context: context)
            } catch {
                throw ServiceError.invalidField("body", reason: "needs holdCommandType (a command type) and enabled (true or false)")
            }
            guard commandTypes.contains(body.holdCommandType) else {
                throw ServiceError.invalidField("holdCommandType", reason: "must be a command type a saga sends: \(commandTypes.sorted().joined(separator: ", "))")
            }
            hold.set(body.holdCommandType, held: body.enabled)
            return try JSONResponse.make(["held": hold.heldTypes.sorted()])
        }
    }
}
