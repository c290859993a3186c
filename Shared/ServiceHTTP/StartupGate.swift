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

/// What a service adds to the host: schema migrations (run after the PostgreSQL pool is up and
/// before HTTP and background work start), and its background services.
public struct ServicePlan: Sendable {
    public var migrations: [@Sendable () async throws -> Void]
    public var services: [any Service]

    public init(migrations: [@Sendable () async throws -> Void] = [], services: [any Service] = []) {
        self.migrations = migrations
        self.services = services
    }
}
