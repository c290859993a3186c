public import Hummingbird
import Logging
import PostgresNIO
import ServiceHTTP

/// The router a context registers its routes on, with the service's two kinds of group
/// already set up: command routes (counted against `MAX_COMMANDS_IN_FLIGHT`) and admin
/// routes (bearer token, audited).
public struct ContextRouter {
    public let router: Router<BasicRequestContext>
    public let service: ServiceKind
    let adminToken: String?
    let client: PostgresClient
    let logger: Logger
    let commandGroup: RouterGroup<BasicRequestContext>
    /// What bounds saga starts (the command service's; nil elsewhere: no saga starts there).
    let sagaStarts: (running: RunningSagas, limit: Int)?

    init(
        router: Router<BasicRequestContext>, service: ServiceKind, adminToken: String?, client: PostgresClient, logger: Logger, maxCommandsInFlight: Int,
        sagaStarts: (running: RunningSagas, limit: Int)? = nil
    ) {
        self.router = router
        self.sagaStarts = sagaStarts
        self.service = service
        self.adminToken = adminToken
        self.client = client
        self.logger = logger
        self.commandGroup = router.group().add(middleware: CommandAdmission(limit: maxCommandsInFlight))
    }

    /// Routes that run a command: refused with 503 and `Retry-After` when too many are in
    /// progress.
    public var commands: RouterGroup<BasicRequestContext> { commandGroup }

    /// Command routes that start an instance of saga `name` (a booking that starts its
    /// process): also refused with 503 and `Retry-After` while `MAX_RUNNING_SAGAS` instances
    /// of it are running, so the suite takes on no more work than it can finish.
    public func startingSaga(_ name: String) -> RouterGroup<BasicRequestContext> {
        guard let sagaStarts else { return commandGroup }
        return commandGroup.group().add(middleware: SagaStartAdmission(saga: name, limit: sagaStarts.limit, running: sagaStarts.running))
    }

    /// An operator-only group at `path` (default `/admin`): bearer token and audit log.
    public func admin(_ path: RouterPath = "/admin") -> RouterGroup<BasicRequestContext> {
        router.adminGroup(path, token: adminToken, client: client, service: service.rawValue, logger: logger)
    }
}
