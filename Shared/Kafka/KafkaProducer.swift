import CRdKafka
import Dispatch
public import Logging
import Synchronization

/// An idempotent Kafka producer.
///
/// `send` returns once the broker acknowledged the record (partition and offset) without
/// blocking a thread per message: librdkafka's delivery report completes a continuation,
/// served by one poll thread per producer. Delivery failures surface as `KafkaError`.
public final class KafkaProducer: Sendable {
    private let handle: KafkaHandleGuard
    private let context: KafkaClientContext
    private let poller: KafkaPollThread
    private let logger: Logger

    public init(configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) {
        let conf = try configuration.makeNative()
        let context = KafkaClientContext(logger: logger)
        context.install(on: conf)
        rd_kafka_conf_set_dr_msg_cb(conf, kafkaDeliveryReportCallback)
        let pointer = try KafkaClientFactory.create(RD_KAFKA_PRODUCER, conf: conf)
        self.context = context
        self.logger = logger
        self.handle = KafkaHandleGuard(pointer)
        self.poller = KafkaPollThread(name: "kafka-producer-poll", handle: pointer)
    }

    /// Never blocks the releasing thread (see `KafkaConsumer.deinit`): stopping the poll thread
    /// and destroying the client (which waits for librdkafka's own threads) happen on a Dispatch
    /// thread. Call `close()` to deliver or fail what is still queued first.
    deinit {
        let handle = self.handle
        let poller = self.poller
        let context = self.context
        DispatchQueue.global().async {
            poller.stop()
            handle.close { rd_kafka_destroy($0) }
            withExtendedLifetime(context) {}
        }
    }

    /// Sends one record and waits for the broker's acknowledgement.
    public func send(_ message: KafkaOutgoingMessage) async throws(KafkaError) -> KafkaDeliveryReport {
        let results = await send([message])
        guard let result = results.first else {
            throw KafkaError(.deliveryFailed, reason: "no delivery report", topic: message.topic)
        }
        return try result.get()
    }

    /// Sends records in sequence and waits for every acknowledgement. Records with the same key
    /// keep their sequence (idempotent producer). Results are in the sequence of `messages`.
    ///
    /// A record that librdkafka refuses to enqueue (too large, unknown partition) fails, and so
    /// does every later record of the same topic and key in this call, without being sent:
    /// sending them would put a key's later record on the log ahead of its earlier one.
    public func send(_ messages: [KafkaOutgoingMessage]) async -> [Result<KafkaDeliveryReport, KafkaError>] {
        let batch = KafkaDeliveryBatch(count: messages.count)
        var refusedKeys: [String: Set<[UInt8]>] = [:]
        for (index, message) in messages.enumerated() {
            if let key = message.key, refusedKeys[message.topic]?.contains(key) == true {
                batch.complete(
                    index,
                    .failure(KafkaError(.deliveryFailed, reason: "not sent: an earlier record with the same key failed", topic: message.topic)))
                continue
            }
            while true {
                let outcome = enqueue(message, token: batch.token(for: index))
                switch outcome {
                case .enqueued:
                    break
                case .queueFull:
                    // librdkafka's local queue is full: let the poll thread drain reports, then retry.
                    try? await Task.sleep(for: .milliseconds(1))
                    continue
                case .failed(let error):
                    batch.complete(index, .failure(error))
                    if let key = message.key { refusedKeys[message.topic, default: []].insert(key) }
                }
                break
            }
        }
        return await batch.results()
    }

    private enum EnqueueOutcome {
        case enqueued
        case queueFull
        case failed(KafkaError)
    }

    private func enqueue(_ message: KafkaOutgoingMessage, token: KafkaDeliveryToken) -> EnqueueOutcome {
        if let fatal = context.fatalError { return .failed(fatal) }
        let opaque = Unmanaged.passRetained(token).toOpaque()
        let response: rd_kafka_resp_err_t
        do {
            response = try handle.withHandle { pointer in KafkaRecordWriter.produce(message, opaque: opaque, on: pointer) }
        } catch {
            Unmanaged<KafkaDeliveryToken>.fromOpaque(opaque).release()
            return .failed(error)
        }
        if response == RD_KAFKA_RESP_ERR_NO_ERROR { return .enqueued }
        // Not enqueued: librdkafka will never report it, so the token is ours to release.
        Unmanaged<KafkaDeliveryToken>.fromOpaque(opaque).release()
        if response == RD_KAFKA_RESP_ERR__QUEUE_FULL { return .queueFull }
        return .failed(KafkaError(.deliveryFailed, response: response, topic: message.topic, partition: message.partition))
    }

    /// Waits until every enqueued record was acknowledged or failed.
    public func flush(timeout: Duration = .seconds(30)) async throws(KafkaError) {
        let handle = self.handle
        let milliseconds = Int32(clamping: timeout.milliseconds)
        let response = await offloaded {
            (try? handle.withHandle { pointer in rd_kafka_flush(pointer, milliseconds) }) ?? RD_KAFKA_RESP_ERR__DESTROY
        }
        guard response == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(.deliveryFailed, response: response)
        }
    }

    /// Brokers and topics as the cluster reports them; fails with `.brokersUnreachable` if
    /// no broker answers in time. Used by readiness checks.
    public func metadata(timeout: Duration = .seconds(5)) async throws(KafkaError) -> KafkaClusterMetadata {
        try await KafkaClusterMetadata.fetch(from: handle, timeout: timeout)
    }

    /// Flushes what is queued (up to `timeout`), fails whatever is still undelivered with a
    /// `deliveryFailed` error (never silently dropped), and releases the client.
    public func close(timeout: Duration = .seconds(10)) async {
        let handle = self.handle
        let poller = self.poller
        let milliseconds = Int32(clamping: timeout.milliseconds)
        await offloaded {
            handle.close { pointer in
                _ = rd_kafka_flush(pointer, milliseconds)
                _ = rd_kafka_purge(pointer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
                // Serve the purge reports so every waiting sender gets its error.
                _ = rd_kafka_flush(pointer, 1_000)
                poller.stop()
                rd_kafka_destroy(pointer)
            }
        }
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }
}
