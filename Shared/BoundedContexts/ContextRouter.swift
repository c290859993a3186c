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

    init(router: Router<BasicRequestContext>, service: ServiceKind, adminToken: String?, client: PostgresClient, logger: Logger, maxCommandsInFlight: Int) {
        self.router = router
        self.service = service
        self.adminToken = adminToken
        self.client = client
        self.logger = logger
        self.commandGroup = router.group().add(middleware: CommandAdmission(limit: maxCommandsInFlight))
    }

    /// Routes that run a command: refused with 503 and `Retry-After` when too many are in
    /// progress.
    public var commands: RouterGroup<BasicRequestContext> { commandGroup }

    /// An operator-only group at `path` (default `/admin`): bearer token and audit log.
    public func admin(_ path: RouterPath = "/admin") -> RouterGroup<BasicRequestContext> {
        router.adminGroup(path, token: adminToken, client: client, service: service.rawValue, logger: logger)
    }
}
