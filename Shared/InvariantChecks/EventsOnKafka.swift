import EventSourcing
import EventStore
import Foundation
import Kafka

/// Each appended event is on its topic, keyed by its stream, at its stream version, with its
/// id; copies (at-least-once resends) are counted, not violations; nothing is on the topics
/// that the store does not have. Events whose outbox row is still unpublished are left to
/// `outbox-drained`.
public struct EventsOnKafka: Invariant {
    public let name = "events-on-kafka"
    public let summary = "each appended event is on its topic at its stream version; nothing else is"
    public let bootstrapServers: String
    public let topics: [String]
    public let topicForStreamType: @Sendable (String) -> String
    public let timeout: Duration

    public init(bootstrapServers: String, topics: [String], topicForStreamType: @escaping @Sendable (String) -> String, timeout: Duration = .seconds(120)) {
        self.bootstrapServers = bootstrapServers
        self.topics = topics
        self.topicForStreamType = topicForStreamType
        self.timeout = timeout
    }

    struct Seen {
        var topic: String
        var key: String?
        var streamID: String
        var version: Int64
    }

    public func check(_ context: CheckContext) async throws -> CheckResult {
        let records = try await readTopics(context)
        var onKafka: [String: [Seen]] = [:]
        var violations: [String] = []
        var count: Int64 = 0
        for record in records {
            switch DecodedEvent(record) {
            case .event(let event):
                onKafka[event.eventID.uuidString.lowercased(), default: []].append(
                    Seen(topic: record.topic, key: record.keyString, streamID: event.streamID, version: event.streamVersion))
            case .unreadable(let reason):
                count += 1
                violations.append("\(record.topic)/\(record.partition)/\(record.offset) is not a readable event: \(reason)")
            }
        }
        let stored = try await context.client.liveQuery(
            """
            SELECT e.event_id::text, e.stream_id, e.stream_type, e.stream_version FROM event_store.events e
            WHERE NOT EXISTS (SELECT 1 FROM event_store.outbox o WHERE o.global_position = e.global_position AND o.published_at IS NULL)
            ORDER BY e.global_position
            """, logger: context.logger
        )
        var copies = 0
        for row in stored {
            let (id, stream, streamType, version) = try row.decode((String, String, String, Int64).self)
            guard let seen = onKafka.removeValue(forKey: id) else {
                count += 1
                violations.append("\(stream) v\(version) (\(id)) is not on \(topicForStreamType(streamType))")
                continue
            }
            copies += seen.count - 1
            let expected = topicForStreamType(streamType)
            for record in seen where record.topic != expected || record.key != stream || record.streamID != stream || record.version != version {
                count += 1
                violations.append(
                    "\(stream) v\(version) (\(id)) is on \(record.topic) keyed \(record.key ?? "nil") as \(record.streamID) v\(record.version)")
            }
        }
        for (id, seen) in onKafka {
            count += Int64(seen.count)
            violations.append("\(seen[0].topic) carries \(seen[0].streamID) v\(seen[0].version) (\(id)), which the event store does not have")
        }
        if copies > 0 { context.logger.info("events on Kafka more than once (at-least-once resends)", metadata: ["copies": "\(copies)"]) }
        return CheckResult(name: name, summary: summary, checked: Int64(stored.count), violations: violations, violationCount: count)
    }

    /// Every record of the topics, up to the end each partition had when the read began.
    private func readTopics(_ context: CheckContext) async throws -> [KafkaConsumedMessage] {
        let consumer = try KafkaConsumer(
            configuration: .consumer(
                bootstrapServers: bootstrapServers, groupID: "invariant-check-\(UUID().uuidString.prefix(8))",
                overrides: ["auto.offset.reset": "earliest"]),
            topics: topics, logger: context.logger)
        do {
            let metadata = try await consumer.metadata()
            var ends: [KafkaTopicPartition: Int64] = [:]
            for topic in topics {
                for number in 0..<(metadata.partitionCounts[topic] ?? 0) {
                    let partition = KafkaTopicPartition(topic: topic, partition: Int32(number))
                    let (low, high) = try await consumer.watermarks(partition)
                    if high > low { ends[partition] = high }
                }
            }
            var records: [KafkaConsumedMessage] = []
            var reached: [KafkaTopicPartition: Int64] = [:]
            let deadline = ContinuousClock.now + timeout
            while ends.contains(where: { (reached[$0.key] ?? 0) < $0.value }) {
                guard ContinuousClock.now < deadline else { throw ReadIncomplete(missing: ends.filter { (reached[$0.key] ?? 0) < $0.value }.map(\.key)) }
                for record in try await consumer.poll(maxMessages: 5_000, timeout: .milliseconds(200)) {
                    records.append(record)
                    reached[record.topicPartition] = max(reached[record.topicPartition] ?? 0, record.offset + 1)
                }
            }
            await consumer.close()
            return records
        } catch {
            await consumer.close()
            throw error
        }
    }

    struct ReadIncomplete: Error, CustomStringConvertible {
        var missing: [KafkaTopicPartition]
        var description: String { "could not read to the end of \(missing.sorted().prefix(5)) in time" }
    }
}
