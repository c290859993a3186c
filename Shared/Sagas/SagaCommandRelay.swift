import EventStore
import Foundation
public import Kafka
public import Logging
import Metrics
public import PostgresNIO
public import ServiceLifecycle

/// Publishes the sagas' commands from `sagas.outbox` to Kafka in position order, keyed by the
/// target stream, and marks them only after the broker acknowledged them. At-least-once: a
/// command published again carries the same command id, and the command service executes an
/// id once. One orchestrator publishes at a time (advisory lock); the others stand by.
public struct SagaCommandRelay: Service {
    static let lockKey: Int64 = 0x5341_4741_0000_0001  // "SAGA"

    let client: PostgresClient
    let producer: KafkaProducer
    let logger: Logger
    let batchSize: Int
    let idleInterval: Duration
    let hold: CommandHold
    private let published = Counter(label: "saga_commands_published_total")

    public init(
        client: PostgresClient, producer: KafkaProducer, logger: Logger, batchSize: Int = 500, idleInterval: Duration = .milliseconds(20),
        hold: CommandHold = CommandHold()
    ) {
        self.client = client
        self.producer = producer
        self.logger = logger
        self.batchSize = batchSize
        self.idleInterval = idleInterval
        self.hold = hold
    }

    public func run() async throws {
        let leadership = AdvisoryLeadership(client: client, lockKey: Self.lockKey, role: "saga command relay", standbyInterval: .seconds(1), logger: logger)
        await cancelWhenGracefulShutdown {
            await leadership.run { connection in
                var lastPrune = ContinuousClock.now
                while !Task.isCancelled {
                    let count = try await publishBatch(on: connection)
                    if ContinuousClock.now - lastPrune >= .seconds(60) {
                        try await connection.run(
                            "DELETE FROM sagas.outbox WHERE published_at IS NOT NULL AND published_at < now() - interval '1 hour'")
                        lastPrune = .now
                    }
                    if count < batchSize { try await Task.sleep(for: idleInterval) }
                }
            }
        }
    }

    private func publishBatch(on connection: RelayConnection) async throws -> Int {
        let heldTypes = Array(hold.heldTypes)
        // Held commands, and every later one with the same key, are left out in SQL, so that
        // however many are held the others still come through.
        let rows = try await connection.run(
            heldTypes.isEmpty
                ? """
                SELECT position, correlation_id, command_id, command_type, topic, key, payload::text, causation_id
                FROM sagas.outbox WHERE published_at IS NULL ORDER BY position LIMIT \(batchSize)
                """
                : """
                SELECT position, correlation_id, command_id, command_type, topic, key, payload::text, causation_id
                FROM sagas.outbox o WHERE published_at IS NULL
                  AND NOT EXISTS (
                      SELECT 1 FROM sagas.outbox h
                      WHERE h.published_at IS NULL AND h.key = o.key AND h.position <= o.position AND h.command_type = ANY(\(heldTypes)))
                ORDER BY position LIMIT \(batchSize)
                """)
        guard !rows.isEmpty else { return 0 }
        var keyed: [(key: String, position: Int64)] = []
        var messages: [KafkaOutgoingMessage] = []
        for row in rows {
            let (position, correlationID, commandID, type, topic, key, payload, causationID) =
                try row.decode((Int64, String, String, String, String, String, String, String?).self)
            var headers = [
                KafkaHeader(key: "ce_id", string: commandID), KafkaHeader(key: "ce_type", string: type),
                KafkaHeader(key: "ce_source", string: "saga-orchestrator"), KafkaHeader(key: "ce_specversion", string: "1.0"),
                KafkaHeader(key: "correlation-id", string: correlationID), KafkaHeader(key: "content-type", string: "application/json"),
            ]
            if let causationID { headers.append(KafkaHeader(key: "causation-id", string: causationID)) }
            messages.append(KafkaOutgoingMessage(topic: topic, key: key, value: Array(payload.utf8), headers: headers))
            keyed.append((key, position))
        }
        let results = await producer.send(messages)
        let acknowledged = OutboxRelay.acknowledgedInOrder(keyed, results: results)
        if !acknowledged.isEmpty {
            try await connection.run("UPDATE sagas.outbox SET published_at = now() WHERE position = ANY(\(acknowledged))")
            published.increment(by: acknowledged.count)
        }
        if acknowledged.count < rows.count {
            let failure = results.lazy.compactMap { if case .failure(let error) = $0 { error } else { nil } }.first
            logger.warning(
                "saga commands not acknowledged; they will be published again",
                metadata: ["count": "\(rows.count - acknowledged.count)", "error": "\(failure.map { "\($0)" } ?? "")"])
            try await Task.sleep(for: .milliseconds(500))
        }
        return rows.count
    }
}
