import EventStore
import Hummingbird
import ServiceHTTP

/// `/admin/outbox`: is it draining (pending per topic, oldest age), and republishing the event
/// store's events from a global position (disaster recovery).
struct OutboxAdminRoutes: Sendable {
    let store: PostgresEventStore

    struct RepublishRequest: Decodable {
        var from: Int64
        var through: Int64?
    }

    func register(on admin: RouterGroup<BasicRequestContext>) {
        admin.get("/outbox") { _, _ in
            try JSONResponse.make(try await store.outboxBacklog())
        }
        admin.post("/outbox/republish") { request, context in
            let body = try await request.decode(as: RepublishRequest.self, context: context)
            guard body.from >= 1 else { throw ServiceError.invalidField("from", reason: "must be a global position (1 or more)") }
            if let through = body.through, through < body.from { throw ServiceError.invalidField("through", reason: "must not be before from") }
            let queued = try await store.republish(from: body.from, through: body.through)
            return try JSONResponse.make(["queued": queued])
        }
    }
}
