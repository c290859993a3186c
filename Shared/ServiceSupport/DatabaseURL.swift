import Foundation
import NIOSSL
public import PostgresNIO

/// A `postgres://user:password@host:port/database?sslmode=...` URL, parsed into PostgresNIO's
/// client configuration. `sslmode` is `disable` (default), `prefer` or `require`.
public struct DatabaseURL: Sendable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String?
    public var sslMode: String
    /// Lock and idle bounds every connection made from this URL sets at its start.
    public var bounds = TransactionBounds()

    public init(_ text: String, variable: String = "DATABASE_URL") throws(ConfigurationError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme,
            ["postgres", "postgresql"].contains(scheme)
        else {
            throw ConfigurationError(
                variable: variable, value: Self.redacted(text),
                reason: "must look like postgres://user:password@host:5432/database")
        }
        guard let host = components.host, !host.isEmpty else {
            throw ConfigurationError(variable: variable, value: Self.redacted(text), reason: "has no host")
        }
        guard let user = components.user, !user.isEmpty else {
            throw ConfigurationError(variable: variable, value: Self.redacted(text), reason: "has no user name")
        }
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        guard ["disable", "prefer", "require"].contains(mode) else {
            throw ConfigurationError(variable: variable, value: Self.redacted(text), reason: "sslmode must be disable, prefer or require")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? nil : path
        self.sslMode = mode
    }

    public var clientConfiguration: PostgresClient.Configuration { clientConfiguration(role: nil) }

    /// With a role, every connection takes it on at start (`-c role=...`), so its statements
    /// run with that role's privileges. Every connection also sets `bounds` at start.
    public func clientConfiguration(role: String?) -> PostgresClient.Configuration {
        var configuration = plainConfiguration
        let options = [bounds.startupOptions] + (role.map { ["-c role=\($0)"] } ?? [])
        configuration.options.additionalStartupParameters.append(("options", options.joined(separator: " ")))
        return configuration
    }

    private var plainConfiguration: PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch sslMode {
            case "require": .require(.makeClientConfiguration())
            case "prefer": .prefer(.makeClientConfiguration())
            default: .disable
            }
        return PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
    }

    /// The URL with its password replaced, safe for logs and error messages.
    public static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? "<unparseable>"
    }
}
