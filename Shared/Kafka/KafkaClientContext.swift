import CRdKafka
import Logging
import Synchronization

/// State shared between a Swift client and librdkafka's C callbacks. librdkafka hands the
/// context back through `rd_kafka_opaque`; the client keeps it alive for as long as the handle.
final class KafkaClientContext: Sendable {
    let logger: Logger
    let rebalance: KafkaRebalanceHandler?
    private let fatal = Mutex<KafkaError?>(nil)
    private let abandoned = Atomic<Bool>(false)

    /// The client was dropped without `close()`: nobody is left to answer rebalances.
    func abandon() { abandoned.store(true, ordering: .releasing) }
    var isAbandoned: Bool { abandoned.load(ordering: .acquiring) }

    init(logger: Logger, rebalance: KafkaRebalanceHandler? = nil) {
        self.logger = logger
        self.rebalance = rebalance
    }

    var fatalError: KafkaError? { fatal.withLock { $0 } }

    func recordFatal(_ error: KafkaError) {
        fatal.withLock { if $0 == nil { $0 = error } }
    }

    static func from(_ handle: OpaquePointer?) -> KafkaClientContext? {
        guard let handle, let opaque = rd_kafka_opaque(handle) else { return nil }
        return Unmanaged<KafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
    }

    /// Installs the log and error callbacks and this context as the opaque.
    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_log_cb(conf, kafkaLogCallback)
        rd_kafka_conf_set_error_cb(conf, kafkaErrorCallback)
    }
}

/// Routes librdkafka's syslog-levelled log lines into swift-log.
private func kafkaLogCallback(handle: OpaquePointer?, level: Int32, facility: UnsafePointer<CChar>?, text: UnsafePointer<CChar>?) {
    guard let context = KafkaClientContext.from(handle) else { return }
    let message = text.map { String(cString: $0) } ?? ""
    let facilityName = facility.map { String(cString: $0) } ?? ""
    let swiftLevel: Logger.Level =
        switch level {
        // librdkafka logs transient trouble (a refused connection) at LOG_ERR and recovers by
        // itself; failures that matter reach callers as typed errors instead.
        case ...2: .error
        case 3, 4: .warning
        case 5, 6: .info
        default: .debug
        }
    context.logger.log(level: swiftLevel, "\(message)", metadata: ["kafka.facility": "\(facilityName)"])
}

/// Client-level errors: most are transient (a broker went away and librdkafka reconnects);
/// a fatal one (idempotence broken) makes the client unusable and is kept for callers.
private func kafkaErrorCallback(handle: OpaquePointer?, code: Int32, reason: UnsafePointer<CChar>?, opaque: UnsafeMutableRawPointer?) {
    guard let context = KafkaClientContext.from(handle) else { return }
    let text = reason.map { String(cString: $0) } ?? ""
    if code == RD_KAFKA_RESP_ERR__FATAL.rawValue, let handle {
        var buffer = [CChar](repeating: 0, count: 512)
        let underlying = rd_kafka_fatal_error(handle, &buffer, buffer.count)
        let fatalReason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        context.recordFatal(KafkaError(.deliveryFailed, reason: "fatal: \(fatalReason)", rdKafkaCode: underlying.rawValue))
        context.logger.critical("Kafka client fatal error", metadata: ["reason": "\(fatalReason)"])
    } else {
        // Transient: librdkafka retries, and its log callback already reported the cause.
        context.logger.debug("Kafka client error", metadata: ["code": "\(code)", "reason": "\(text)"])
    }
}
