import Foundation
public import Instrumentation
public import Tracing

/// The trace context as the headers the installed propagator writes (W3C `traceparent` and
/// `tracestate` under OpenTelemetry's default): stored with each event (in its metadata) and
/// each saga command, and sent with each record, so that the work a record causes continues
/// the trace of the request or message that wrote it. The installed instrument chooses the
/// keys; with none installed (no exporter configured) nothing is written and nothing is read.
public enum TraceHeaders {
    /// Whether a tracer is installed (for this task): per-record work is skipped when not, so
    /// that a service with no exporter pays nothing per record.
    public static var isTracing: Bool { !(InstrumentationSystem.tracer is NoOpTracer) }

    /// `context` as headers.
    public static func of(_ context: InstrumentationContext) -> [String: String] {
        var headers: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &headers, using: DictionaryCarrier())
        return headers
    }

    /// The remote span that stored headers name, as a context to continue or link to (a
    /// top-level context when they name none).
    public static func context(from headers: [String: String]) -> InstrumentationContext {
        var context = InstrumentationContext.topLevel
        guard !headers.isEmpty else { return context }
        InstrumentationSystem.instrument.extract(headers, into: &context, using: DictionaryCarrier())
        return context
    }

    /// The remote span a consumed record's headers name.
    public static func context(from headers: [KafkaHeader]) -> InstrumentationContext {
        var context = InstrumentationContext.topLevel
        InstrumentationSystem.instrument.extract(headers, into: &context, using: KafkaHeaderCarrier())
        return context
    }

    /// The trace headers among stored ones (an event's metadata), as record headers: read and
    /// written back by the propagator, so that only what it understands leaves the store.
    public static func kafkaHeaders(fromStored stored: [String: String]) -> [KafkaHeader] {
        guard !stored.isEmpty else { return [] }
        return of(context(from: stored)).sorted { $0.key < $1.key }.map { KafkaHeader(key: $0.key, string: $0.value) }
    }

    /// `context` as a JSON object of headers, for a text or jsonb column ("" when there are none).
    public static func jsonText(of context: InstrumentationContext) -> String {
        let headers = of(context)
        guard !headers.isEmpty, let data = try? JSONEncoder().encode(headers) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Headers stored as a JSON object (`jsonText(of:)`); none when the text is not one.
    public static func fromJSONText(_ text: String?) -> [String: String] {
        guard let text, !text.isEmpty else { return [:] }
        return (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }

    /// At most this many links on one batch span (OpenTelemetry's default span limit).
    public static let maxLinks = 128

    /// Links `span` to the spans `contexts` name (the first `maxLinks`).
    public static func link(_ span: any Span, to contexts: some Sequence<InstrumentationContext>) {
        for context in contexts.prefix(maxLinks) { span.addLink(SpanLink(context: context, attributes: [:])) }
    }
}

/// Headers as a string dictionary (an event's metadata, a saga command's stored headers).
struct DictionaryCarrier: Injector, Extractor {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

/// A record's headers (the first of a key counts, as `[KafkaHeader].string` reads them).
struct KafkaHeaderCarrier: Extractor {
    func extract(key: String, from carrier: [KafkaHeader]) -> String? { carrier.string(key) }
}
