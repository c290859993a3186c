import CRdKafka

enum KafkaClientFactory {
    /// Creates a client; librdkafka takes ownership of `conf` only when creation succeeds.
    static func create(_ type: rd_kafka_type_t, conf: OpaquePointer) throws(KafkaError) -> OpaquePointer {
        var errorText = [CChar](repeating: 0, count: 512)
        guard let pointer = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            let reason = String(decoding: errorText.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw KafkaError(.clientCreationFailed, reason: reason)
        }
        return pointer
    }
}
