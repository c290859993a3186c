import EventSourcing
import Foundation
import HTTPTypes
import Hummingbird
import Kafka
import Projections
import ConsumerRuntime
import ServiceHTTP

/// `/admin/...` (bearer token): dead letters (list, show, replay, skip) and fault injection.
struct ProjectionAdminRoutes: Sendable {
    let runtime: ProjectionRuntime
    let faults: FaultSwitch

    struct ReplayRequest: Decodable {
        var projection: String
        var stream: String?
        var fingerprint: String?
    }

    struct SkipRequest: Decodable {
        var reason: String
    }

    struct CheckpointResetRequest: Decodable {
        var topic: String
        var partition: Int32?
        var offset: Int64
    }

    struct FaultRequest: Decodable {
        var stream: String
        var enabled: Bool
    }

    func register(on admin: RouterGroup<BasicRequestContext>) {
        let store = runtime.deadLetters
        admin.get("/dead-letters") { request, _ in
            let query = request.uri.queryParameters
            // Every filter is checked before it reaches PostgreSQL: a bad one is a 400 naming it.
            func text(_ name: String) throws -> String? {
                guard let value = query.get(name) else { return nil }
                guard value.utf8.count <= 1_000, !value.contains("\0") else {
                    throw ServiceError.invalidField(name, reason: "must be at most 1000 bytes of text without NUL")
                }
                return value
            }
            let status = try text("status") ?? "parked"
            var olderThan: Int?
            if let raw = query.get("olderThanSeconds") {
                guard let seconds = Int(raw), (0...315_360_000).contains(seconds) else {
                    throw ServiceError.invalidField("olderThanSeconds", reason: "must be a whole number of seconds from 0 to 315360000")
                }
                olderThan = seconds
            }
            let filter = DeadLetterStore.Filter(
                projection: try text("projection"), stream: try text("stream"), status: status == "all" ? nil : status,
                fingerprint: try text("fingerprint"), olderThanSeconds: olderThan, limit: try RequestJSON.limit(of: request))
            return try JSONResponse.make(try await store.list(filter))
        }
        admin.get("/dead-letters/groups") { _, _ in
            struct Group: Encodable {
                var fingerprint: String
                var projection: String
                var count: Int64
                var streams: Int64
            }
            return try JSONResponse.make(try await store.groups().map { Group(fingerprint: $0.0, projection: $0.1, count: $0.2, streams: $0.3) })
        }
        admin.get("/dead-letters/:id") { _, context in
            guard let id = context.parameters.get("id", as: Int64.self) else { throw ServiceError.invalidField("id", reason: "must be a number") }
            guard let letter = try await store.get(id) else { throw ServiceError.notFound("dead letter", id: "\(id)") }
            struct Detail: Encodable {
                var deadLetter: DeadLetter
                var event: String?
                var behind: [DeadLetter]
            }
            let behind = try await store.list(.init(projection: letter.projection, stream: letter.streamId, status: "parked")).filter { $0.id != id }
            return try JSONResponse.make(Detail(deadLetter: letter, event: try await store.event(of: id), behind: behind))
        }
        admin.post("/dead-letters/replay") { request, context in
            let body = try await request.decode(as: ReplayRequest.self, context: context)
            let who = request.operatorName
            if let stream = body.stream {
                return try JSONResponse.make(try await Self.mapped { try await store.replay(projection: body.projection, stream: stream, operator: who) })
            }
            return try JSONResponse.make(
                try await Self.mapped { try await store.replayAll(projection: body.projection, fingerprint: body.fingerprint, operator: who) })
        }
        admin.post("/dead-letters/:id/skip") { request, context in
            guard let id = context.parameters.get("id", as: Int64.self) else { throw ServiceError.invalidField("id", reason: "must be a number") }
            let body = try await request.decode(as: SkipRequest.self, context: context)
            if let problem = TextRules.problem(in: body.reason, maxCharacters: 500, maxBytes: 2_000) {
                throw ServiceError.invalidField("reason", reason: problem)
            }
            return try JSONResponse.make(try await Self.mapped { try await store.skip(id, reason: body.reason, operator: request.operatorName) })
        }
        admin.post("/projections/:name/rebuild") { _, context in
            let name = context.parameters.get("name") ?? ""
            guard let projection = runtime.deadLetters.projections.first(where: { $0.name == name }) else {
                throw ServiceError.notFound("projection", id: name)
            }
            var rebuilder = ProjectionRebuilder(projection: projection, store: runtime.eventStore, logger: runtime.context.logger)
            rebuilder.owner = "\(runtime.context.configuration.instanceID) run \(UUID().uuidString.prefix(8).lowercased())"
            let logger = runtime.context.logger
            // The claim is taken before answering: a second rebuild of the projection (a retried
            // command, a second operator, another instance) is refused with who holds it.
            do {
                try await rebuilder.claimProjection()
            } catch let held as RebuildInProgress {
                throw ServiceError(
                    .conflict, code: "rebuild_in_progress", message: held.description,
                    details: ["owner": held.owner, "startedAt": held.startedAt.formatted(.iso8601)])
            }
            // Runs in the background; progress is in GET /projections (read_models.rebuilds); a
            // failure is recorded there by the rebuilder.
            // Detached: the rebuild outlives the request and must not log or trace as it.
            Task.detached {
                do { _ = try await rebuilder.runClaimed() } catch {
                    logger.error("rebuild failed", metadata: ["projection": "\(name)", "error": "\(String(reflecting: error))"])
                }
            }
            return try JSONResponse.make(["projection": name, "status": "started"], status: .accepted)
        }
        admin.post("/checkpoints/reset") { request, context in
            let body = try await request.decode(as: CheckpointResetRequest.self, context: context)
            guard body.offset >= 0 else { throw ServiceError.invalidField("offset", reason: "must be 0 or more") }
            try await Self.checkOnTheLog(offset: body.offset, topic: body.topic, partition: body.partition, status: runtime.processor.status)
            let moved = try await CheckpointReset.reset(
                processor: runtime.processorName, topic: body.topic, partition: body.partition, to: body.offset,
                operator: request.operatorName, client: runtime.context.postgres, logger: runtime.context.logger)
            guard moved > 0 else { throw ServiceError.notFound("checkpoint", id: "\(body.topic)/\(body.partition.map(String.init) ?? "*")") }
            return try JSONResponse.make(["topic": body.topic, "partitions": "\(moved)", "offset": "\(body.offset)"])
        }
        admin.post("/faults") { request, context in
            let body = try await request.decode(as: FaultRequest.self, context: context)
            faults.set(stream: body.stream, failing: body.enabled)
            return try JSONResponse.make(["failingStreams": faults.streams.sorted()])
        }
    }

    /// Who acts, for the record: the `X-Operator` header, or "admin".
    static func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DeadLetterError {
            throw ServiceError(.unprocessableContent, code: "dead_letter", message: error.reason)
        }
    }

    /// A checkpoint must point at a record still on the log or at its end: past the end, every
    /// record written until then would be skipped without a trace; before the start, the
    /// member would find its position gone and stop. Checked against each partition's
    /// watermarks, through this instance's consumer.
    static func checkOnTheLog(offset: Int64, topic: String, partition: Int32?, status: ConsumerStatus) async throws {
        guard let consumer = status.consumer else {
            throw ServiceError(.serviceUnavailable, code: "consumer_not_running", message: "the processor has no consumer yet; cannot check the offset against the log")
        }
        let partitions: [Int32]
        if let partition {
            partitions = [partition]
        } else {
            let count = try await consumer.metadata(timeout: .seconds(5)).partitionCounts[topic] ?? 0
            partitions = (0..<Int32(count)).map { $0 }
        }
        for number in partitions {
            let bounds: (low: Int64, high: Int64)
            do {
                bounds = try await consumer.watermarks(KafkaTopicPartition(topic: topic, partition: number), timeout: .seconds(5))
            } catch {
                throw ServiceError.invalidField("partition", reason: "\(topic)/\(number) is not a partition of the log: \(error)")
            }
            guard (bounds.low...bounds.high).contains(offset) else {
                throw ServiceError.invalidField(
                    "offset", reason: "\(topic)/\(number) holds offsets \(bounds.low) to \(bounds.high) (its end); \(offset) is outside, and would skip or lose records")
            }
        }
    }
}
