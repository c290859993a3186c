import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

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

    static func from(status: Int, body: Data, action: String) -> CLIError {
        let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
        let reason = (json?["message"] as? String) ?? String(decoding: body.prefix(500), as: UTF8.self)
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
        let client = HTTPClient.shared
        let url = base(service) + path
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "X-Operator", value: operatorName)
        if admin, let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(30))
        } catch {
            throw CLIError(message: "\(method) \(url): the service is unreachable (\(error))", code: 6)
        }
        let bytes = Data((try await response.body.collect(upTo: 64 << 20)).readableBytesView)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw CLIError.from(status: Int(response.status.code), body: bytes, action: "\(method) \(path)")
        }
        return bytes
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
