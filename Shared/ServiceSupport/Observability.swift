public import Logging
import Metrics
public import Prometheus

/// Process-wide logging and metrics, set up once in each executable's entry point.
public enum Observability {
    /// Bootstraps swift-log (text or JSON lines, each with the current `MessageContext`'s ids)
    /// and swift-metrics (Prometheus). Returns the
    /// registry that `/metrics` renders and the service's root logger. Call once per process.
    public static func bootstrap(_ configuration: ServiceConfiguration) -> (logger: Logger, registry: PrometheusCollectorRegistry) {
        let level = configuration.logLevel
        switch configuration.logFormat {
        case .json:
            LoggingSystem.bootstrap(
                { label, provider in
                    var handler = JSONLogHandler(label: label)
                    handler.metadataProvider = provider
                    handler.logLevel = level
                    return handler
                }, metadataProvider: MessageContext.metadataProvider)
        case .text:
            LoggingSystem.bootstrap(
                { label, provider in
                    var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
                    handler.logLevel = level
                    return handler
                }, metadataProvider: MessageContext.metadataProvider)
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var logger = Logger(label: configuration.serviceName)
        logger[metadataKey: "service"] = "\(configuration.serviceName)"
        logger[metadataKey: "instance"] = "\(configuration.instanceID)"
        return (logger, registry)
    }
}
