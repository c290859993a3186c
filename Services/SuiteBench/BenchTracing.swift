import Logging
import ServiceHTTP
import SuiteTelemetry

/// Tracing in a benchmark, exactly as in the services: on when the OTEL_* variables ask for an
/// export (`scripts/bench-tracing` compares the two), off otherwise (no tracer at all).
enum BenchTracing {
    /// Starts the exporter's background work when configured; cancel the task when done.
    static func start(_ name: String) throws -> Task<Void, Never>? {
        guard let exporter = try TracingExport.openTelemetry.start(name, Logger(label: name)) else { return nil }
        return Task { try? await exporter.run() }
    }
}
