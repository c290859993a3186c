import CRdKafka
import Dispatch
public import Logging
import Synchronization

/// A consumer group member with manual commits and cooperative-sticky assignment.
///
/// Pull-based, like the Java client: `poll` fetches up to a batch of records on the consumer's
/// own serial Dispatch queue, and rebalances are served inside `poll` through the
/// `KafkaRebalanceHandler`, so the caller decides where each assigned partition starts and
/// finishes its work before a revoked one is released. Natural back-pressure: nothing is
/// fetched into Swift memory that the caller did not ask for.
public final class KafkaConsumer: Sendable {
    private let handle: KafkaHandleGuard
    private let context: KafkaClientContext
    private let pollQueue: DispatchQueue
    private let pendingError = Mutex<KafkaError?>(nil)
    public let groupID: String

    public init(
        configuration: KafkaConfiguration, topics: [String], rebalance: KafkaRebalanceHandler = .init(), logger: Logger
    ) throws(KafkaError) {
        let conf = try configuration.makeNative()
        let context = KafkaClientContext(logger: logger, rebalance: rebalance)
        context.install(on: conf)
        rd_kafka_conf_set_rebalance_cb(conf, kafkaRebalanceCallback)
        let pointer = try KafkaClientFactory.create(RD_KAFKA_CONSUMER, conf: conf)
        rd_kafka_poll_set_consumer(pointer)
        // No topics: a client of the group that never joins it (it only reads the group's
        // committed offsets), so it takes no partition from the members.
        if !topics.isEmpty {
            let subscription = KafkaPartitionList.make(topics.map { KafkaTopicPartition(topic: $0, partition: RD_KAFKA_PARTITION_UA) })
            defer { rd_kafka_topic_partition_list_destroy(subscription) }
            let response = rd_kafka_subscribe(pointer, subscription)
            guard response == RD_KAFKA_RESP_ERR_NO_ERROR else {
                rd_kafka_destroy(pointer)
                throw KafkaError(.consumerFailed, response: response)
            }
        }
        self.groupID = configuration["group.id"] ?? ""
        self.context = context
        self.handle = KafkaHandleGuard(pointer)
        self.pollQueue = DispatchQueue(label: "kafka-consumer-poll")
    }

    /// Never blocks the releasing thread, which may be one of Swift's cooperative threads (two
    /// on a two-core host): a consumer nobody closed leaves its group on a Dispatch thread, without
    /// asking the application about the revocation (it is gone). The context, librdkafka's opaque,
    /// lives until then. Call `close()` to leave the group before the consumer is dropped.
    deinit {
        let handle = self.handle
        let context = self.context
        guard !handle.isClosed else { return }
        context.abandon()
        DispatchQueue.global().async {
            handle.close { pointer in
                _ = rd_kafka_consumer_close(pointer)
                rd_kafka_destroy(pointer)
            }
            withExtendedLifetime(context) {}
        }
    }

    /// Fetches up to `maxMessages` records, waiting at most `timeout` for the first one.
    /// Returns an empty array when nothing arrived. Throws `offsetOutOfRange` when a position
    /// vanished from the broker (with `auto.offset.reset=error`) and `consumerFailed` on a
    /// fatal error; transient broker errors are logged and retried by librdkafka.
    public func poll(maxMessages: Int = 1_000, timeout: Duration = .milliseconds(200)) async throws(KafkaError) -> [KafkaConsumedMessage] {
        if let error = pendingError.withLock({ error in defer { error = nil }; return error }) { throw error }
        let handle = self.handle
        let logger = context.logger
        let result = await offloaded(to: pollQueue) { () -> (records: [KafkaConsumedMessage], error: KafkaError?) in
            do throws(KafkaError) {
                return try handle.withHandle { pointer in
                    Self.pollBatch(pointer, maxMessages: maxMessages, timeout: timeout, logger: logger)
                }
            } catch {
                return ([], error)
            }
        }
        if let error = result.error {
            if result.records.isEmpty { throw error }
            // Hand out what arrived before the error; the error comes with the next call.
            pendingError.withLock { $0 = error }
        }
        return result.records
    }

    private static func pollBatch(
        _ pointer: OpaquePointer, maxMessages: Int, timeout: Duration, logger: Logger
    ) -> (records: [KafkaConsumedMessage], error: KafkaError?) {
        var records: [KafkaConsumedMessage] = []
        let deadline = ContinuousClock.now + timeout
        while records.count < maxMessages {
            let remaining = records.isEmpty ? max(0, (deadline - ContinuousClock.now).milliseconds) : 0
            guard let message = rd_kafka_consumer_poll(pointer, Int32(clamping: remaining)) else {
                if records.isEmpty, ContinuousClock.now < deadline { continue }
                break
            }
            defer { rd_kafka_message_destroy(message) }
            let code = message.pointee.err
            if code == RD_KAFKA_RESP_ERR_NO_ERROR {
                records.append(KafkaRecordReader.read(message))
                continue
            }
            if code == RD_KAFKA_RESP_ERR__PARTITION_EOF { continue }
            let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) }
            let detail = KafkaConsumer.errorText(message)
            if code == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || code == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE {
                return (records, KafkaError(.offsetOutOfRange, reason: detail, rdKafkaCode: code.rawValue, topic: topic, partition: message.pointee.partition))
            }
            if code == RD_KAFKA_RESP_ERR__FATAL {
                return (records, KafkaError(.consumerFailed, reason: detail, rdKafkaCode: code.rawValue, topic: topic))
            }
            logger.warning("Kafka consumer error (retried by librdkafka)", metadata: ["code": "\(code.rawValue)", "reason": "\(detail)"])
        }
        return (records, nil)
    }

    private static func errorText(_ message: UnsafePointer<rd_kafka_message_t>) -> String {
        if let text = rd_kafka_message_errstr(message) { return String(cString: text) }
        return String(cString: rd_kafka_err2str(message.pointee.err))
    }

    /// Commits positions to the group (the offset of the next record to read, per partition).
    /// Fails with `commitFailed` if this member no longer owns a partition.
    public func commit(_ positions: [KafkaTopicPartition: Int64]) async throws(KafkaError) {
        guard !positions.isEmpty else { return }
        let handle = self.handle
        let entries = positions.map { ($0.key, $0.value) }
        let failure = await offloaded { () -> KafkaError? in
            do throws(KafkaError) {
                return try handle.withHandle { pointer -> KafkaError? in
                    let list = KafkaPartitionList.make(entries)
                    defer { rd_kafka_topic_partition_list_destroy(list) }
                    let response = rd_kafka_commit(pointer, list, 0)
                    if response != RD_KAFKA_RESP_ERR_NO_ERROR { return KafkaError(.commitFailed, response: response) }
                    return KafkaPartitionList.firstError(list, code: .commitFailed)
                }
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// The group's committed positions for these partitions (nil where none was committed).
    public func committed(_ partitions: [KafkaTopicPartition], timeout: Duration = .seconds(5)) async throws(KafkaError) -> [KafkaTopicPartition: Int64?] {
        let handle = self.handle
        let milliseconds = Int32(clamping: timeout.milliseconds)
        let result = await offloaded { () -> Result<[KafkaTopicPartition: Int64?], KafkaError> in
            Result { () throws(KafkaError) in
                try handle.withHandle { pointer throws(KafkaError) in
                    let list = KafkaPartitionList.make(partitions)
                    defer { rd_kafka_topic_partition_list_destroy(list) }
                    let response = rd_kafka_committed(pointer, list, milliseconds)
                    guard response == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(.consumerFailed, response: response) }
                    var positions: [KafkaTopicPartition: Int64?] = [:]
                    for entry in KafkaPartitionList.entries(list) {
                        positions[entry.partition] = entry.offset >= 0 ? entry.offset : nil
                    }
                    return positions
                }
            }
        }
        return try result.get()
    }

    /// Moves the fetch position of assigned partitions.
    public func seek(_ positions: [KafkaTopicPartition: Int64], timeout: Duration = .seconds(5)) async throws(KafkaError) {
        let handle = self.handle
        let entries = positions.map { ($0.key, $0.value) }
        let milliseconds = Int32(clamping: timeout.milliseconds)
        let failure = await offloaded { () -> KafkaError? in
            do throws(KafkaError) {
                return try handle.withHandle { pointer -> KafkaError? in
                    let list = KafkaPartitionList.make(entries)
                    defer { rd_kafka_topic_partition_list_destroy(list) }
                    if let error = rd_kafka_seek_partitions(pointer, list, milliseconds) {
                        return KafkaError(.partitionOperationFailed, consuming: error)
                    }
                    return KafkaPartitionList.firstError(list, code: .partitionOperationFailed)
                }
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// Stops fetching these partitions until `resume`; the assignment is kept.
    public func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try changeFlow(partitions, pause: true)
    }

    public func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try changeFlow(partitions, pause: false)
    }

    private func changeFlow(_ partitions: [KafkaTopicPartition], pause: Bool) throws(KafkaError) {
        try handle.withHandle { pointer throws(KafkaError) in
            let list = KafkaPartitionList.make(partitions)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let response = pause ? rd_kafka_pause_partitions(pointer, list) : rd_kafka_resume_partitions(pointer, list)
            guard response == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(.partitionOperationFailed, response: response) }
            if let error = KafkaPartitionList.firstError(list, code: .partitionOperationFailed) { throw error }
        }
    }

    /// The partitions currently assigned to this member.
    public func assignment() throws(KafkaError) -> [KafkaTopicPartition] {
        try handle.withHandle { pointer throws(KafkaError) in
            var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            let response = rd_kafka_assignment(pointer, &list)
            defer { if let list { rd_kafka_topic_partition_list_destroy(list) } }
            guard response == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(.consumerFailed, response: response) }
            return KafkaPartitionList.partitions(list).sorted()
        }
    }

    /// Low and high watermarks of a partition (the high one is the offset the next record gets).
    public func watermarks(_ partition: KafkaTopicPartition, timeout: Duration = .seconds(5)) async throws(KafkaError) -> (low: Int64, high: Int64) {
        let handle = self.handle
        let milliseconds = Int32(clamping: timeout.milliseconds)
        let result = await offloaded { () -> Result<[Int64], KafkaError> in
            Result { () throws(KafkaError) in
                try handle.withHandle { pointer throws(KafkaError) in
                    var low: Int64 = 0
                    var high: Int64 = 0
                    let response = rd_kafka_query_watermark_offsets(pointer, partition.topic, partition.partition, &low, &high, milliseconds)
                    guard response == RD_KAFKA_RESP_ERR_NO_ERROR else {
                        throw KafkaError(.consumerFailed, response: response, topic: partition.topic, partition: partition.partition)
                    }
                    return [low, high]
                }
            }
        }
        let marks = try result.get()
        return (marks[0], marks[1])
    }

    /// The low and high watermarks librdkafka last learned from fetches (no broker round trip);
    /// nil before the first fetch of the partition.
    public func cachedWatermarks(_ partition: KafkaTopicPartition) -> (low: Int64, high: Int64)? {
        try? handle.withHandle { pointer in
            var low: Int64 = -1
            var high: Int64 = -1
            let response = rd_kafka_get_watermark_offsets(pointer, partition.topic, partition.partition, &low, &high)
            return response == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? (low, high) : nil
        }
    }

    public func metadata(timeout: Duration = .seconds(5)) async throws(KafkaError) -> KafkaClusterMetadata {
        try await KafkaClusterMetadata.fetch(from: handle, timeout: timeout)
    }

    /// Leaves the group (revoking the assignment through the rebalance handler, so others take
    /// over at once) and releases the client.
    public func close() async {
        let handle = self.handle
        await offloaded(to: pollQueue) {
            handle.close { pointer in
                _ = rd_kafka_consumer_close(pointer)
                rd_kafka_destroy(pointer)
            }
        }
    }
}
