import Foundation
import Logging
import OTel
public import ServiceHTTP
import Tracing

extension TracingExport {
    /// Spans exported over OTLP by swift-otel, configured only by OpenTelemetry's own variables:
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`),
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, `grpc`), `OTEL_SERVICE_NAME` (default: the
    /// service's own name), `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`, `OTEL_SDK_DISABLED`,
    /// `OTEL_PROPAGATORS` (default W3C `tracecontext`). With no endpoint set, or the SDK disabled,
    /// no tracer is installed at all, so the hot paths pay for no-op spans only.
    /// Logs and metrics stay where they are (stderr, Prometheus): only traces go over OTLP.
    public static let openTelemetry = TracingExport { serviceName in
        let environment = ProcessInfo.processInfo.environment
        guard OpenTelemetryVariables(environment).exportsTraces else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(backend.factory)
        return Started(service: backend.service, logMetadata: OTel.makeLoggingMetadataProvider())
    }
}

/// Whether the standard variables ask for traces to be exported.
struct OpenTelemetryVariables {
    var environment: [String: String]

    init(_ environment: [String: String]) { self.environment = environment }

    var exportsTraces: Bool {
        if let disabled = environment["OTEL_SDK_DISABLED"], disabled.lowercased() == "true" { return false }
        if let exporter = environment["OTEL_TRACES_EXPORTER"], exporter.lowercased() == "none" { return false }
        return isSet("OTEL_EXPORTER_OTLP_ENDPOINT") || isSet("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    }

    private func isSet(_ name: String) -> Bool {
        !(environment[name]?.trimmingCharacters(in: .whitespaces).isEmpty ?? true)
    }
}
