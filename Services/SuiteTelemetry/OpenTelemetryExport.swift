import Foundation
import Logging
import OTel
public import ServiceHTTP
import ServiceSupport
import Tracing

extension TracingExport {
    /// Spans exported over OTLP by swift-otel, configured only by OpenTelemetry's own variables:
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`),
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, `grpc`, `http/json`), `OTEL_SERVICE_NAME`
    /// (default: the service's own name), `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`,
    /// `OTEL_SDK_DISABLED`, `OTEL_PROPAGATORS` (default W3C `tracecontext`), `OTEL_BSP_*`. With no
    /// endpoint set, or the SDK disabled, no tracer is installed at all. Logs and metrics stay
    /// where they are (stderr, Prometheus): only traces go over OTLP.
    ///
    /// The variables this suite documents are checked first and a bad value stops the service
    /// (exit 2, naming it), as every other setting does; swift-otel alone would log a warning and
    /// carry on with its default.
    public static let openTelemetry = TracingExport(logMetadata: OTel.makeLoggingMetadataProvider()) { serviceName, logger in
        let variables = OpenTelemetryVariables(ProcessInfo.processInfo.environment)
        try variables.check()
        guard variables.exportsTraces else { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        // Its own reports (a failed export) go to the service's log, in its format.
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(backend.factory)
        return backend.service
    }
}

/// The standard variables as the suite reads them.
struct OpenTelemetryVariables {
    static let protocols: Set<String> = ["grpc", "http/protobuf", "http/json"]
    static let samplers: Set<String> = [
        "always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio",
    ]

    var environment: [String: String]

    init(_ environment: [String: String]) { self.environment = environment }

    /// Whether they ask for traces to be exported.
    var exportsTraces: Bool {
        if value("OTEL_SDK_DISABLED")?.lowercased() == "true" { return false }
        if value("OTEL_TRACES_EXPORTER") == "none" { return false }
        return value("OTEL_EXPORTER_OTLP_ENDPOINT") != nil || value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != nil
    }

    /// Throws for the first documented variable with a value OpenTelemetry does not define.
    func check() throws(ConfigurationError) {
        let endpoints = [("OTEL_EXPORTER_OTLP_ENDPOINT", value("OTEL_EXPORTER_OTLP_ENDPOINT")),
                         ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))]
        for case let (name, text?) in endpoints {
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false else {
                throw ConfigurationError(variable: name, value: text, reason: "must be an http or https URL, e.g. http://localhost:4318")
            }
        }
        let protocols = [("OTEL_EXPORTER_OTLP_PROTOCOL", value("OTEL_EXPORTER_OTLP_PROTOCOL")),
                         ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", value("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))]
        for case let (name, text?) in protocols where !Self.protocols.contains(text) {
            throw ConfigurationError(variable: name, value: text, reason: "must be one of \(Self.protocols.sorted().joined(separator: ", "))")
        }
        if let exporter = value("OTEL_TRACES_EXPORTER"), !["otlp", "none"].contains(exporter) {
            throw ConfigurationError(variable: "OTEL_TRACES_EXPORTER", value: exporter, reason: "must be otlp or none")
        }
        if let sampler = value("OTEL_TRACES_SAMPLER"), !Self.samplers.contains(sampler) {
            throw ConfigurationError(
                variable: "OTEL_TRACES_SAMPLER", value: sampler, reason: "must be one of \(Self.samplers.sorted().joined(separator: ", "))")
        }
        if let argument = value("OTEL_TRACES_SAMPLER_ARG") {
            guard let ratio = Double(argument), (0...1).contains(ratio) else {
                throw ConfigurationError(variable: "OTEL_TRACES_SAMPLER_ARG", value: argument, reason: "must be a sampling ratio from 0 to 1, e.g. 0.25")
            }
        }
        if let disabled = value("OTEL_SDK_DISABLED"), !["true", "false"].contains(disabled.lowercased()) {
            throw ConfigurationError(variable: "OTEL_SDK_DISABLED", value: disabled, reason: "must be true or false")
        }
    }

    /// A variable's value; unset and blank alike are nil.
    private func value(_ name: String) -> String? {
        guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        return text
    }
}
