public import Logging
public import ServiceLifecycle

/// How a service exports its spans. The library speaks only swift-distributed-tracing's API;
/// an executable that links an exporter (the suite's services link swift-otel, in
/// `Services/SuiteTelemetry`) hands one of these to `ServiceHost.run`, which starts it before
/// anything logs or traces.
public struct TracingExport: Sendable {
    /// What a started export adds to the service.
    public struct Started: Sendable {
        /// The exporter's background work (batches, flush on shutdown), run in the service's group.
        public var service: any Service
        /// Adds the current span's ids (`trace_id`, `span_id`) to every log line.
        public var logMetadata: Logger.MetadataProvider?

        public init(service: any Service, logMetadata: Logger.MetadataProvider?) {
            self.service = service
            self.logMetadata = logMetadata
        }
    }

    /// Bootstraps `InstrumentationSystem` when exporting is configured and returns what runs it;
    /// nil when it is not (no tracer: every span is a no-op and nothing is exported).
    /// `serviceName` is the default `service.name`. A configuration error throws (exit 2).
    public var start: @Sendable (_ serviceName: String) throws -> Started?

    public init(start: @escaping @Sendable (_ serviceName: String) throws -> Started?) {
        self.start = start
    }

    /// Nothing is exported (tools, tests).
    public static let none = TracingExport { _ in nil }
}
