import ArgumentParser
import Foundation
import JSONClient

/// Where the services are and who is asking; shared by every subcommand.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Command service base URL.") var commandURL: String?
    @Option(help: "Projection service base URL.") var projectionURL: String?
    @Option(help: "Saga orchestrator base URL.") var sagaURL: String?
    @Option(help: "Admin token (prefer the ADMIN_TOKEN variable: a flag shows in the process list).") var token: String?
    @Option(name: .customLong("operator"), help: "Who you are, for the audit log (default $USER).") var operatorName: String?
    @Flag(help: "Print the service's JSON answer instead of a table.") var json = false

    func client() -> SuiteClient {
        let environment = ProcessInfo.processInfo.environment
        return SuiteClient(
            command: commandURL ?? environment["COMMAND_SERVICE_URL"] ?? "http://127.0.0.1:8081",
            projection: projectionURL ?? environment["PROJECTION_SERVICE_URL"] ?? environment["PROJECTION_SERVICE_1_URL"] ?? "http://127.0.0.1:8082",
            saga: sagaURL ?? environment["SAGA_ORCHESTRATOR_URL"] ?? "http://127.0.0.1:8083",
            token: token ?? environment["ADMIN_TOKEN"],
            operatorName: operatorName ?? environment["USER"] ?? "suitectl")
    }
}

/// A failure with the exit code that says what kind it is.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var code: Int32

    var description: String { message }

    /// A service's refusal: the exit code from its status, the reason from its error body (else
    /// the start of the body).
    static func from(_ error: JSONClientError, action: String) -> CLIError {
        let status = error.status ?? 0
        let reason = error.serviceError?.message ?? error.bodyExcerpt ?? ""
        let code: Int32 =
            switch status {
            case 404: 3
            case 401, 403: 4
            case 400, 409, 422: 5
            default: 1
            }
        return CLIError(message: "\(action): HTTP \(status): \(reason)", code: code)
    }
}

/// The few HTTP calls suitectl makes, JSON in and out.
struct SuiteClient {
    enum Service { case command, projection, saga }

    let command: String
    let projection: String
    let saga: String
    let token: String?
    let operatorName: String

    func base(_ service: Service) -> String {
        switch service {
        case .command: command
        case .projection: projection
        case .saga: saga
        }
    }

    /// Sends a request; returns the JSON body of a 2xx answer, throws a `CLIError` otherwise.
    func call(_ method: String, _ service: Service, _ path: String, body: [String: Any]? = nil, admin: Bool = false) async throws -> Data {
        let client = JSONClient(
            .init(baseURL: base(service), bearerToken: token, headers: ["X-Operator": operatorName], timeout: .seconds(30), maxResponseBytes: 64 << 20))
        let method = JSONClient.Method(rawValue: method)
        let response: JSONResponse
        do {
            response = try await client.send(method, path, body: try body.map(JSONBody.object), authorized: admin)
        } catch {
            guard error.kind == .unreachable || error.kind == .timedOut else { throw error }
            throw CLIError(message: "\(method) \(client.resolve(path)): the service is unreachable (\(error.underlying ?? error.kind.rawValue))", code: 6)
        }
        guard response.isSuccess else { throw CLIError.from(response.failure(.unexpectedStatus), action: "\(method) \(path)") }
        return response.body
    }

    func json(_ method: String, _ service: Service, _ path: String, body: [String: Any]? = nil, admin: Bool = false) async throws -> Any {
        let data = try await call(method, service, path, body: body, admin: admin)
        return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    }
}

/// Query strings with escaping.
func query(_ items: [(String, String?)]) -> String {
    var components = URLComponents()
    components.queryItems = items.compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
    guard let text = components.percentEncodedQuery, !text.isEmpty else { return "" }
    return "?" + text
}

func pathComponent(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? text
}
