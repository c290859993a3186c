import CRdKafka
import Synchronization

/// Collects the delivery reports of one `send` call and wakes the sender when all arrived.
final class KafkaDeliveryBatch: Sendable {
    private struct State {
        var results: [Result<KafkaDeliveryReport, KafkaError>?]
        var remaining: Int
        var waiter: CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count, waiter: nil))
    }

    func token(for index: Int) -> KafkaDeliveryToken {
        KafkaDeliveryToken(batch: self, index: index)
    }

    func complete(_ index: Int, _ result: Result<KafkaDeliveryReport, KafkaError>) {
        let resume = state.withLock { state -> (CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>, [Result<KafkaDeliveryReport, KafkaError>])? in
            guard state.results[index] == nil else { return nil }
            state.results[index] = result
            state.remaining -= 1
            guard state.remaining == 0, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, state.results.compactMap { $0 })
        }
        if let (waiter, results) = resume { waiter.resume(returning: results) }
    }

    /// Waits for every report. A cancelled waiter stops waiting: records not reported yet
    /// count as failed ("outcome unknown"): they may still be delivered, so a caller that
    /// retries them delivers at least once, never zero times.
    func results() async -> [Result<KafkaDeliveryReport, KafkaError>] {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> [Result<KafkaDeliveryReport, KafkaError>]? in
                    if state.remaining == 0 || Task.isCancelled { return Self.settled(state.results) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let resume = state.withLock { state -> (CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>, [Result<KafkaDeliveryReport, KafkaError>])? in
                guard let waiter = state.waiter else { return nil }
                state.waiter = nil
                return (waiter, Self.settled(state.results))
            }
            if let (waiter, results) = resume { waiter.resume(returning: results) }
        }
    }

    private static func settled(_ results: [Result<KafkaDeliveryReport, KafkaError>?]) -> [Result<KafkaDeliveryReport, KafkaError>] {
        results.map { $0 ?? .failure(KafkaError(.deliveryFailed, reason: "cancelled while waiting: delivery outcome unknown")) }
    }
}

/// Travels through librdkafka as the message opaque (retained once per enqueued record).
final class KafkaDeliveryToken: Sendable {
    let batch: KafkaDeliveryBatch
    let index: Int

    init(batch: KafkaDeliveryBatch, index: Int) {
        self.batch = batch
        self.index = index
    }
}

/// librdkafka calls this on the poll thread once per record: acknowledged, failed or purged.
func kafkaDeliveryReportCallback(
    handle: OpaquePointer?, message: UnsafePointer<rd_kafka_message_t>?, opaque: UnsafeMutableRawPointer?
) {
    guard let message, let opaque = message.pointee._private else { return }
    let token = Unmanaged<KafkaDeliveryToken>.fromOpaque(opaque).takeRetainedValue()
    let record = message.pointee
    let topic = record.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
    if record.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        token.batch.complete(
            token.index, .success(KafkaDeliveryReport(topic: topic, partition: record.partition, offset: record.offset)))
    } else {
        token.batch.complete(
            token.index, .failure(KafkaError(.deliveryFailed, response: record.err, topic: topic, partition: record.partition)))
    }
}
