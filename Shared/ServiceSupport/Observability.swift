public import Logging
import Metrics
public import Prometheus

/// Process-wide logging and metrics, set up once in each executable's entry point.
public enum Observability {
    /// Bootstraps swift-log (text or JSON lines, each with the current `MessageContext`'s ids)
    /// and swift-metrics (Prometheus). Returns the
    /// registry that `/metrics` renders and the service's root logger. Call once per process.
    /// `traceMetadata` adds the current span's ids (from the tracer the executable installed).
    public static func bootstrap(
        _ configuration: ServiceConfiguration, traceMetadata: Logger.MetadataProvider? = nil
    ) -> (logger: Logger, registry: PrometheusCollectorRegistry) {
        let level = configuration.logLevel
        let metadataProvider = traceMetadata.map { Logger.MetadataProvider.multiplex([MessageContext.metadataProvider, $0]) }
            ?? MessageContext.metadataProvider
        switch configuration.logFormat {
        case .json:
            LoggingSystem.bootstrap(
                { label, provider in
                    var handler = JSONLogHandler(label: label)
                    handler.metadataProvider = provider
                    handler.logLevel = level
                    return handler
                }, metadataProvider: metadataProvider)
        case .text:
            LoggingSystem.bootstrap(
                { label, provider in
                    var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
                    handler.logLevel = level
                    return handler
                }, metadataProvider: metadataProvider)
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var logger = Logger(label: configuration.serviceName)
        logger[metadataKey: "service"] = "\(configuration.serviceName)"
        logger[metadataKey: "instance"] = "\(configuration.instanceID)"
        return (logger, registry)
    }
}
