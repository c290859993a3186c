import Foundation
public import ServiceHTTP

/// Runs one of a suite's three services: its executable's whole `main`.
public enum SuiteService {
    /// `tracing` is how its spans leave the process (`.none`: not at all).
    public static func run(_ kind: ServiceKind, suite: Suite, tracing: TracingExport = .none) async -> Never {
        let document: String
        do {
            document = try openAPIDocument(kind, suite: suite)
        } catch {
            FileHandle.standardError.write(Data("\(kind.rawValue): cannot compose the OpenAPI document: \(error)\n".utf8))
            exit(1)
        }
        await ServiceHost.run(
            service: kind.rawValue, defaultPort: kind.defaultPort, roles: suite.roles, defaultDatabase: suite.name, openAPI: document,
            tracing: tracing, setup: setup(kind, suite: suite))
    }

    /// The service's routes and background services (tests build the same router with it).
    public static func setup(_ kind: ServiceKind, suite: Suite) -> ServiceHost.Setup {
        switch kind {
        case .commandService: CommandServiceAssembly.setup(suite)
        case .projectionService: ProjectionServiceAssembly.setup(suite)
        case .sagaOrchestrator: SagaOrchestratorAssembly.setup(suite)
        }
    }

    public static func openAPIDocument(_ kind: ServiceKind, suite: Suite) throws -> String {
        try OpenAPIComposition.document(kind, suite: suite)
    }
}
