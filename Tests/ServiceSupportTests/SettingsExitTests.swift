import Foundation
import SuiteTesting
import Testing

/// Every setting the README documents is read by the services, and a bad value stops the
/// service at start with exit code 2 and a message naming the variable (never ignored).
@Suite("Documented settings")
struct SettingsExitTests {
    static let services = ["command-service", "projection-service", "saga-orchestrator"]

    /// A bad value per setting, and the services that read it.
    static let badValues: [(variable: String, value: String, services: [String])] = [
        ("DATABASE_URL", "not a url", services),
        ("MIGRATION_DATABASE_URL", "mysql://somewhere/db", services),
        ("DATABASE_ROLE", "bad role; DROP", services),
        ("PORT", "70000", services),
        ("LOG_LEVEL", "loud", services),
        ("LOG_FORMAT", "xml", services),
        ("MAX_COMMANDS_IN_FLIGHT", "0", services),
        ("MAX_RUNNING_SAGAS", "none", services),
        ("KAFKA_FETCH_WAIT_MS", "0", services),
        ("DATABASE_LOCK_TIMEOUT_MS", "forever", services),
        ("DATABASE_IDLE_IN_TRANSACTION_MS", "0", services),
        ("PROJECTION_RETRY_ATTEMPTS", "0", ["projection-service"]),
        ("PROJECTION_RETRY_ATTEMPTS", "three", ["projection-service"]),
        ("SAGA_STEP_DEADLINE_MS", "-1", ["saga-orchestrator"]),
        ("SAGA_PAYMENT_DEADLINE_MS", "60000", ["saga-orchestrator"]),
        ("SAGA_MAX_RETRIES", "many", ["saga-orchestrator"]),
        ("SAGA_CONCURRENT_BATCHES", "0", ["saga-orchestrator"]),
        ("RETURN_WINDOW_DAYS", "-1", ["command-service"]),
        ("RETURN_REFUND_DEADLINE_MS", "soon", ["saga-orchestrator"]),
        ("SUITE_CRASH_POINT", "nowhere", services),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318", services),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "pigeon", services),
        ("OTEL_TRACES_EXPORTER", "zipkin", services),
        ("OTEL_TRACES_SAMPLER", "sometimes", services),
        ("OTEL_TRACES_SAMPLER_ARG", "two", services),
        ("OTEL_SDK_DISABLED", "maybe", services),
    ]
    /// Settings any value of which is valid (a name, a token, an address list).
    static let freeForm: Set<String> = ["KAFKA_BROKERS", "HOST", "INSTANCE_ID", "ADMIN_TOKEN", "DRILL_POSTGRES_RESTART", "OTEL_SERVICE_NAME"]

    /// The variables in the README's configuration table.
    static func documented() throws -> Set<String> {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let rows = text.split(separator: "\n").filter { $0.hasPrefix("| `") && $0.contains("|") }
        return Set(rows.compactMap { row -> String? in
            let name = row.dropFirst(3).prefix { $0 != "`" }
            return name.allSatisfy { $0.isUppercase || $0 == "_" } && name.contains("_") || ["PORT", "HOST"].contains(String(name))
                ? String(name) : nil
        })
    }

    @Test("every documented setting has a bad-value case here, or is free-form")
    func everyDocumentedSettingIsCovered() throws {
        let documented = try Self.documented()
        #expect(documented.contains("DATABASE_URL") && documented.contains("SAGA_MAX_RETRIES"), "\(documented)")
        let covered = Set(Self.badValues.map(\.variable)).union(Self.freeForm)
        #expect(documented.subtracting(covered).isEmpty, "documented but not checked: \(documented.subtracting(covered).sorted())")
    }

    @Test("a bad value exits 2 and names the variable", arguments: 0..<badValues.count)
    func badValueExitsTwo(_ index: Int) async throws {
        let (variable, value, services) = Self.badValues[index]
        for service in services {
            // Everything else valid, so the bad one is the reason; no broker or database is reached first.
            var environment = ["PORT": "0"]
            environment[variable] = value
            let run = try await ToolRun.run(service, [], environment: environment, timeout: .seconds(30))
            #expect(run.status == 2, "\(service) with \(variable)=\(value) exited \(run.status): \(run.output) \(run.errors)")
            #expect((run.output + run.errors).contains(variable), "\(service) must name \(variable): \(run.output) \(run.errors)")
        }
    }
}
