import Instrumentation
import Kafka

import Tracing

/// The spans of one consumed batch: one per record, continuing the trace its headers carry
/// (`process <topic>`), and one for the batch (`<group> batch`), linked to the records' traces.
/// All end when the batch is done, so a record's span lasts as long as the work that handled it.
struct BatchSpans {
    let batch: any Span
    let records: [any Span]

    init(_ records: [KafkaConsumedMessage], group: String, partition: KafkaTopicPartition) {
        let tracing = TraceHeaders.isTracing
        let remote = tracing ? records.map { TraceHeaders.context(from: $0.headers) } : []
        batch = startSpan("\(group) batch", context: .topLevel, ofKind: .consumer)
        batch.updateAttributes { attributes in
            attributes["messaging.consumer.group.name"] = group
            attributes["messaging.destination.name"] = partition.topic
            attributes["messaging.destination.partition.id"] = "\(partition.partition)"
            attributes["messaging.batch.message_count"] = records.count
        }
        TraceHeaders.link(batch, to: remote)
        self.records = zip(records, remote).map { record, parent in
            let span = startSpan("process \(record.topic)", context: parent, ofKind: .consumer)
            span.updateAttributes { attributes in
                attributes["messaging.consumer.group.name"] = group
                attributes["messaging.kafka.offset"] = Int(record.offset)
                if let key = record.keyString { attributes["messaging.kafka.message.key"] = key }
            }
            return span
        }
    }

    /// Each record's span context, by position in the batch (top-level ones when not tracing).
    func contexts(count: Int) -> [InstrumentationContext] {
        records.isEmpty ? Array(repeating: .topLevel, count: count) : records.map(\.context)
    }

    func recordError(_ error: any Error) {
        batch.recordError(error)
    }

    func end() {
        for span in records { span.end() }
        batch.end()
    }
}
