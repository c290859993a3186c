public import Logging
public import ServiceLifecycle

/// How a service exports its spans. The library speaks only swift-distributed-tracing's API;
/// an executable that links an exporter (the suite's services link swift-otel, in
/// `Services/SuiteTelemetry`) hands one of these to `ServiceHost.run`.
public struct TracingExport: Sendable {
    /// Adds the current span's ids (`trace_id`, `span_id`) to every log line; installed with
    /// logging, before anything is traced.
    public var logMetadata: Logger.MetadataProvider?

    /// Bootstraps `InstrumentationSystem` when exporting is configured and returns the
    /// exporter's background work (batches, flush on shutdown), run in the service's group; nil
    /// when it is not (no tracer: every span is a no-op and nothing is exported). `serviceName`
    /// is the default `service.name`; `logger` is where the exporter reports trouble. A bad
    /// setting throws `ConfigurationError` (exit 2).
    public var start: @Sendable (_ serviceName: String, _ logger: Logger) throws -> (any Service)?

    public init(
        logMetadata: Logger.MetadataProvider? = nil, start: @escaping @Sendable (_ serviceName: String, _ logger: Logger) throws -> (any Service)?
    ) {
        self.logMetadata = logMetadata
        self.start = start
    }

    /// Nothing is exported (tools, tests).
    public static let none = TracingExport { _, _ in nil }
}
