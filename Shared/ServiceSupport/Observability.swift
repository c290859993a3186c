public import Logging
import Metrics
public import Prometheus

/// Process-wide logging and metrics, set up once in each executable's entry point.
public enum Observability {
    /// Bootstraps swift-log (text or JSON lines) and swift-metrics (Prometheus). Returns the
    /// registry that `/metrics` renders and the service's root logger. Call once per process.
    public static func bootstrap(_ configuration: ServiceConfiguration) -> (logger: Logger, registry: PrometheusCollectorRegistry) {
        let level = configuration.logLevel
        switch configuration.logFormat {
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var logger = Logger(label: configuration.serviceName)
        logger[metadataKey: "service"] = "\(configuration.serviceName)"
        logger[metadataKey: "instance"] = "\(configuration.instanceID)"
        return (logger, registry)
    }
}
