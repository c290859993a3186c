import CheckoutSuite
import ChildProcesses
import Foundation
import JSONClient
import Synchronization
import PostgresNIO
import SuiteTesting

/// The three services as real processes on one throwaway database and one mock Kafka cluster,
/// the way `scripts/stack` runs them.
final class CheckoutStack: Sendable {
    /// Short deadlines so that a silent gateway is given up on quickly.
    static let quickDeadlines = ["SAGA_PAYMENT_DEADLINE_MS": "1500", "SAGA_STEP_DEADLINE_MS": "8000", "SAGA_MAX_RETRIES": "1"]

    let kafka: TestKafka
    let databaseURL: String
    let commandURL: String
    let projectionURL: String
    let sagaPort: Int
    let sagaEnvironment: [String: String]
    let logLevel: String?
    /// Set on every service (after their defaults).
    let environment: [String: String]
    let commandPort: Int
    let projectionPort: Int
    private let processes: Mutex<(command: ChildProcess, projection: ChildProcess)>
    var command: ChildProcess { processes.withLock { $0.command } }
    var projection: ChildProcess { processes.withLock { $0.projection } }
    private let orchestrators = Mutex<[ChildProcess]>([])
    let http = JSONClient()

    var sagaURL: String { "http://127.0.0.1:\(sagaPort)" }

    /// `logLevel` overrides every service's LOG_LEVEL (otherwise TEST_SERVICE_LOG_LEVEL or warning).
    /// `environment` is set on every service.
    init(
        databaseURL: String, sagaEnvironment: [String: String] = CheckoutStack.quickDeadlines, logLevel: String? = nil,
        environment: [String: String] = [:]
    ) async throws {
        self.logLevel = logLevel
        self.environment = environment
        let sagaEnvironment = environment.merging(sagaEnvironment) { _, saga in saga }
        self.sagaEnvironment = logLevel.map { sagaEnvironment.merging(["LOG_LEVEL": $0]) { _, new in new } } ?? sagaEnvironment
        kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 6)
        self.databaseURL = databaseURL
        commandPort = try freeLocalPort()
        projectionPort = try freeLocalPort()
        sagaPort = try freeLocalPort()
        commandURL = "http://127.0.0.1:\(commandPort)"
        projectionURL = "http://127.0.0.1:\(projectionPort)"
        processes = Mutex(
            try Self.commandAndProjection(
                commandPort: commandPort, projectionPort: projectionPort, databaseURL: databaseURL, kafka: kafka, logLevel: logLevel,
                environment: environment))
        try await startOrchestrator()
        try await waitReady(commandURL)
        try await waitReady(projectionURL)
    }

    private static func service(_ executable: String, port: Int, databaseURL: String, kafka: TestKafka, extra: [String: String] = [:]) throws -> ChildProcess {
        var environment = [
            "DATABASE_URL": databaseURL, "KAFKA_BROKERS": kafka.bootstrapServers, "PORT": "\(port)", "INSTANCE_ID": executable,
            "LOG_LEVEL": ProcessInfo.processInfo.environment["TEST_SERVICE_LOG_LEVEL"] ?? "warning", "LOG_FORMAT": "json", "ADMIN_TOKEN": "test-token",
        ]
        environment.merge(extra) { _, new in new }
        return try ChildProcess.startBuilt(executable, name: executable, environment: environment)
    }

    /// Starts (new) command and projection processes on the stack's ports and waits until they are ready.
    func restartCommandAndProjection() async throws {
        let started = try Self.commandAndProjection(
            commandPort: commandPort, projectionPort: projectionPort, databaseURL: databaseURL, kafka: kafka, logLevel: logLevel,
            environment: environment)
        processes.withLock { $0 = started }
        try await waitReady(commandURL)
        try await waitReady(projectionURL)
    }

    private static func commandAndProjection(
        commandPort: Int, projectionPort: Int, databaseURL: String, kafka: TestKafka, logLevel: String?, environment: [String: String]
    ) throws -> (command: ChildProcess, projection: ChildProcess) {
        let extra = environment.merging(logLevel.map { ["LOG_LEVEL": $0] } ?? [:]) { _, level in level }
        return (
            try service("command-service", port: commandPort, databaseURL: databaseURL, kafka: kafka, extra: extra),
            try service("projection-service", port: projectionPort, databaseURL: databaseURL, kafka: kafka, extra: extra)
        )
    }

    /// Every service process's log file, orchestrators included.
    var logFiles: [URL] { (orchestrators.withLock { $0.map(\.logFile) } + [command.logFile, projection.logFile]).compactMap { $0 } }

    /// Starts a (new) orchestrator process and waits until it is ready.
    func startOrchestrator() async throws {
        let process = try Self.service("saga-orchestrator", port: sagaPort, databaseURL: databaseURL, kafka: kafka, extra: sagaEnvironment)
        orchestrators.withLock { $0.append(process) }
        try await waitReady(sagaURL)
    }

    /// SIGKILL the running orchestrator: no drain, no goodbye to the group.
    func killOrchestrator() {
        orchestrators.withLock { $0.last }?.kill()
    }

    func waitReady(_ baseURL: String) async throws {
        try await waitUntil("\(baseURL) ready", timeout: .seconds(90), every: .milliseconds(200)) {
            (try? await http.get("\(baseURL)/health/ready").status) == 200
        }
    }

    func stop() async {
        for process in orchestrators.withLock({ $0 }) where process.isRunning { await process.stop() }
        await projection.stop()
        await command.stop()
    }

    /// SIGTERM to every service at once; for each, whether it exited cleanly (status 0) within
    /// `bound`, and how long it took.
    func terminateAll(within bound: Duration) async -> [(name: String, cleanly: Bool, seconds: Double)] {
        let all = orchestrators.withLock { $0.filter(\.isRunning) } + [projection, command].filter(\.isRunning)
        return await withTaskGroup(of: (String, Bool, Double).self) { group in
            for process in all {
                group.addTask {
                    let started = ContinuousClock.now
                    let cleanly = await process.stop(timeout: bound).isSuccess
                    let elapsed = ContinuousClock.now - started
                    return (process.name, cleanly, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                }
            }
            var results: [(name: String, cleanly: Bool, seconds: Double)] = []
            for await result in group { results.append(result) }
            return results
        }
    }

    func killAll() {
        for process in orchestrators.withLock({ $0 }) where process.isRunning { process.kill() }
        if projection.isRunning { projection.kill() }
        if command.isRunning { command.kill() }
    }

    // MARK: - The API, as a client uses it

    func restock(_ sku: String, _ quantity: Int) async throws {
        let response = try await http.post("\(commandURL)/stock/\(sku)/restock", body: .object(["quantity": quantity]))
        guard response.status == 200 || response.status == 201 else { throw Unexpected("restock \(sku): \(response.status) \(response.text)") }
    }

    /// Places an order; returns its id.
    func placeOrder(customer: String, lines: [(sku: String, quantity: Int)], paymentMethod: String) async throws -> String {
        let body: [String: Any] = [
            "customerId": customer, "paymentMethod": paymentMethod,
            "lines": lines.map { ["sku": $0.sku, "quantity": $0.quantity, "unitPriceCents": 250] },
        ]
        let response = try await http.post("\(commandURL)/orders", body: .object(body))
        guard response.status == 201, let id = response.json?["orderId"] as? String else { throw Unexpected("place order: \(response.status) \(response.text)") }
        return id
    }

    func saga(_ orderID: String) async throws -> [String: Any]? {
        let response = try await http.get("\(sagaURL)/sagas/\(orderID)")
        return response.status == 200 ? response.json : nil
    }

    /// Waits until the saga of `orderID` is finished; returns its final view.
    func finishedSaga(_ orderID: String, timeout: Duration = .seconds(60)) async throws -> [String: Any] {
        var view: [String: Any] = [:]
        try await waitUntil("saga \(orderID) finished", timeout: timeout, every: .milliseconds(200)) {
            guard let saga = try await saga(orderID), let state = saga["state"] as? String else { return false }
            view = saga
            return state == "completed" || state == "compensated" || state == "failed"
        }
        return view
    }

    /// The projection's view of a SKU once it has caught up with the command side's version.
    func stockLevels(_ sku: String) async throws -> (onHand: Int, reserved: Int, available: Int) {
        let state = try await http.get("\(commandURL)/streams/stock-\(sku)/state")
        guard let version = state.json?["version"] as? Int else { throw Unexpected("stock \(sku) state: \(state.text)") }
        var levels: (Int, Int, Int)?
        var lastSeen = ""
        do {
            try await waitUntil("stock \(sku) projected up to version \(version)", timeout: .seconds(60), every: .milliseconds(200)) {
                let response = try await http.get("\(projectionURL)/stock/\(sku)")
                let commandSide = try await http.get("\(commandURL)/streams/stock-\(sku)/state")
                lastSeen = "projection \(response.text), command side \(commandSide.text)"
                guard response.status == 200, let json = response.json,
                    let onHand = json["onHand"] as? Int, let reserved = json["reserved"] as? Int, let available = json["available"] as? Int
                else { return false }
                let state = commandSide.json?["state"] as? [String: Any]
                guard let commandOnHand = state?["onHand"] as? Int, commandOnHand == onHand else { return false }
                let commandReserved = (state?["reservations"] as? [String: Int])?.values.reduce(0, +) ?? 0
                guard commandReserved == reserved else { return false }
                levels = (onHand, reserved, available)
                return true
            }
        } catch {
            throw Unexpected("\(error); last seen: \(lastSeen.prefix(2_000))")
        }
        guard let levels else { throw Unexpected("no stock levels for \(sku)") }
        return levels
    }
}

struct Unexpected: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
