import Logging
import Synchronization
public import ServiceLifecycle

/// Opens once (migrations applied); background services wait for it before they start.
final class StartupGate: Sendable {
    private enum State {
        case closed([CheckedContinuation<Bool, Never>])
        case open(Bool)
    }

    private let state = Mutex(State.closed([]))

    /// Opens the gate; `succeeded` false tells waiters not to start.
    func open(succeeded: Bool) {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            guard case .closed(let waiters) = state else { return [] }
            state = .open(succeeded)
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: succeeded) }
    }

    /// Nil while closed; whether it opened successfully after.
    var opened: Bool? {
        state.withLock { state in
            if case .open(let succeeded) = state { return succeeded }
            return nil
        }
    }

    func wait() async -> Bool {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool? in
                switch state {
                case .open(let succeeded): return succeeded
                case .closed(var waiters):
                    waiters.append(continuation)
                    state = .closed(waiters)
                    return nil
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// A background service that starts only after the gate opened (schema migrated).
struct GatedService: Service {
    let gate: StartupGate
    let inner: any Service

    func run() async throws {
        guard await cancelWhenGracefulShutdown({ await gate.wait() }) else {
            try? await gracefulShutdown()
            return
        }
        try await inner.run()
    }
}

/// What a service adds to the host: schema migrations (run once the service is up; until they
/// are done its routes answer 503 `starting` and the background services wait), its background
/// services, and its readiness checks.
public struct ServicePlan: Sendable {
    public var migrations: [@Sendable () async throws -> Void]
    public var services: [any Service]
    /// Checks `/health/ready` runs beside PostgreSQL, Kafka and the migrations (consumers).
    public var readiness: [ReadinessCheck]

    public init(migrations: [@Sendable () async throws -> Void] = [], services: [any Service] = [], readiness: [ReadinessCheck] = []) {
        self.migrations = migrations
        self.services = services
        self.readiness = readiness
    }
}

/// Runs the migrations once the service is up, then opens the gate: meanwhile the probes and
/// `/metrics` answer (`/health/ready` says the migrations are running, so a long migration is
/// not mistaken for a dead process) and every other route answers 503 `starting`.
struct MigrationRun: Service {
    let gate: StartupGate
    let migrate: @Sendable () async throws -> Void
    let logger: Logger

    func run() async throws {
        do {
            try await migrate()
            gate.open(succeeded: true)
        } catch {
            gate.open(succeeded: false)
            logger.critical("migrations failed", metadata: ["error": "\(String(reflecting: error))"])
            throw error
        }
        // Stays in the group until shutdown: a service that returns would end the group.
        await cancelWhenGracefulShutdown { try? await Task.sleep(for: .seconds(365 * 86_400 * 100)) }
    }
}

extension ReadinessCheck {
    /// Ready once the migrations have run; "running" (or "failed") before.
    static func migrations(_ gate: StartupGate) -> Self {
        Self(name: "migrations") {
            switch gate.opened {
            case true?: return
            case false?: throw MigrationState(description: "failed")
            case nil: throw MigrationState(description: "running")
            }
        }
    }
}

struct MigrationState: Error, CustomStringConvertible {
    var description: String
}
