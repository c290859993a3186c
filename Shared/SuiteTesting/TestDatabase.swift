import Foundation
public import Logging
public import PostgresNIO
import ServiceSupport

/// A fresh PostgreSQL database per test, on the cluster `DATABASE_URL` points at (scripts/test
/// starts a throwaway one). Dropped afterwards, so tests never see each other's rows.
public enum TestDatabase {
    public struct NotConfigured: Error, CustomStringConvertible {
        public var description: String { "DATABASE_URL is not set: run the tests through scripts/test (or scripts/dev-postgres start)" }
    }

    /// The base URL, and a URL for a database named `name` on the same cluster.
    public static func url(database name: String? = nil) throws -> String {
        guard let base = ProcessInfo.processInfo.environment["DATABASE_URL"], !base.isEmpty else { throw NotConfigured() }
        guard let name, var components = URLComponents(string: base) else { return base }
        components.path = "/" + name
        return components.string ?? base
    }

    public static func withFresh<T: Sendable>(
        logger: Logger = testLogger("postgres"), _ body: @Sendable (PostgresClient, String) async throws -> T
    ) async throws -> T {
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try await withClient(url: try url(), logger: logger) { admin in
            _ = try await admin.query("CREATE DATABASE \(unescaped: String(name))", logger: logger).collect()
        }
        let databaseURL = try url(database: String(name))
        let result = try await withClient(url: databaseURL, logger: logger) { client in try await body(client, databaseURL) }
        try? await withClient(url: try url(), logger: logger) { admin in
            _ = try await admin.query("DROP DATABASE IF EXISTS \(unescaped: String(name)) WITH (FORCE)", logger: logger).collect()
        }
        return result
    }

    /// Runs `body` with a client whose pool runs for the duration.
    public static func withClient<T: Sendable>(
        url: String, logger: Logger = testLogger("postgres"), _ body: @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        let client = PostgresClient(configuration: try DatabaseURL(url).clientConfiguration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            do {
                let result = try await body(client)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }
}
