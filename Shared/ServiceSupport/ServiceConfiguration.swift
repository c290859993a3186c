public import Foundation
public import Logging

/// A service's settings, read from the environment. Defaults make a local run work with no
/// variables set (PostgreSQL and Kafka on their usual local ports).
public struct ServiceConfiguration: Sendable {
    public enum LogFormat: String, Sendable, CaseIterable {
        case text
        case json
    }

    public var serviceName: String
    public var databaseURL: String
    /// Where migrations run (they create schemas, roles and grants); nil: `databaseURL`.
    public var migrationDatabaseURL: String?
    /// The PostgreSQL role the service's connections take on (`ServiceRoles`); nil: none, the
    /// login user's own privileges.
    public var databaseRole: String?
    public var kafkaBrokers: String
    public var host: String
    public var port: Int
    public var instanceID: String
    /// Nil means the admin API is off (never open without a token).
    public var adminToken: String?
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    /// HTTP commands a service works on at once; more are refused at once with 503 and
    /// `Retry-After` instead of queueing until the work already accepted starves.
    public var maxCommandsInFlight = 256
    /// Instances of one saga the command service lets run at once: a command that would start
    /// one more is refused with 503 and `Retry-After` (`MAX_RUNNING_SAGAS`).
    public var maxRunningSagas = 400
    /// The consumers' longest wait for a fetch with little to read (`fetch.wait.max.ms`).
    public var kafkaFetchWaitMilliseconds = 50
    /// `DATABASE_LOCK_TIMEOUT_MS` and `DATABASE_IDLE_IN_TRANSACTION_MS` (see `TransactionBounds`).
    public var transactionBounds = TransactionBounds()

    /// A local PostgreSQL's database named `database` (the suite's name), as user postgres.
    public static func defaultDatabaseURL(_ database: String) -> String { "postgres://postgres@127.0.0.1:5432/\(database)?sslmode=disable" }
    public static let defaultKafkaBrokers = "127.0.0.1:9092"

    public init(
        serviceName: String, databaseURL: String, kafkaBrokers: String = Self.defaultKafkaBrokers,
        host: String = "0.0.0.0", port: Int, instanceID: String? = nil, adminToken: String? = nil,
        logLevel: Logger.Level = .info, logFormat: LogFormat = .text, databaseRole: String? = nil
    ) {
        self.serviceName = serviceName
        self.databaseURL = databaseURL
        self.kafkaBrokers = kafkaBrokers
        self.host = host
        self.port = port
        // Host name too: in containers every process is pid 1, and scaled replicas must differ.
        self.instanceID = instanceID ?? "\(serviceName)-\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        self.databaseRole = databaseRole
        self.adminToken = adminToken
        self.logLevel = logLevel
        self.logFormat = logFormat
    }

    /// Reads `DATABASE_URL`, `MIGRATION_DATABASE_URL`, `DATABASE_ROLE`, `KAFKA_BROKERS`, `HOST`, `PORT`, `INSTANCE_ID`, `ADMIN_TOKEN`,
    /// `LOG_LEVEL`, `LOG_FORMAT`, `MAX_COMMANDS_IN_FLIGHT`, `MAX_RUNNING_SAGAS`, `KAFKA_FETCH_WAIT_MS`, `DATABASE_LOCK_TIMEOUT_MS` and `DATABASE_IDLE_IN_TRANSACTION_MS`; an invalid value is an error naming the variable.
    /// `defaultRole` is the service's own role (see `ServiceRoles`), taken on unless `DATABASE_ROLE` says otherwise;
    /// `defaultDatabase` names the local database used without `DATABASE_URL`.
    public static func fromEnvironment(
        service: String, defaultPort: Int, defaultRole: String? = nil, defaultDatabase: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> Self {
        func value(_ name: String) -> String? {
            guard let raw = environment[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            return raw
        }
        var configuration = Self(
            serviceName: service, databaseURL: defaultDatabaseURL(defaultDatabase), port: defaultPort, instanceID: value("INSTANCE_ID"),
            databaseRole: defaultRole)
        if let url = value("DATABASE_URL") {
            _ = try DatabaseURL(url, variable: "DATABASE_URL")
            configuration.databaseURL = url
        }
        if let url = value("MIGRATION_DATABASE_URL") {
            _ = try DatabaseURL(url, variable: "MIGRATION_DATABASE_URL")
            configuration.migrationDatabaseURL = url
        }
        if let role = value("DATABASE_ROLE") {
            guard role == "none" || (role.first?.isLetter == true && role.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw ConfigurationError(variable: "DATABASE_ROLE", value: role, reason: "must be a plain role name, or none")
            }
            configuration.databaseRole = role == "none" ? nil : role
        }
        if let brokers = value("KAFKA_BROKERS") { configuration.kafkaBrokers = brokers }
        if let host = value("HOST") { configuration.host = host }
        if let port = value("PORT") {
            guard let number = Int(port), (0...65_535).contains(number) else {
                throw ConfigurationError(variable: "PORT", value: port, reason: "must be a port number from 0 to 65535")
            }
            configuration.port = number
        }
        configuration.adminToken = value("ADMIN_TOKEN")
        if let level = value("LOG_LEVEL") {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
                throw ConfigurationError(
                    variable: "LOG_LEVEL", value: level,
                    reason: "must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            configuration.logLevel = parsed
        }
        if let format = value("LOG_FORMAT") {
            guard let parsed = LogFormat(rawValue: format.lowercased()) else {
                throw ConfigurationError(variable: "LOG_FORMAT", value: format, reason: "must be text or json")
            }
            configuration.logFormat = parsed
        }
        if let limit = value("MAX_COMMANDS_IN_FLIGHT") {
            guard let number = Int(limit), (1...100_000).contains(number) else {
                throw ConfigurationError(variable: "MAX_COMMANDS_IN_FLIGHT", value: limit, reason: "must be a whole number from 1 to 100000")
            }
            configuration.maxCommandsInFlight = number
        }
        configuration.maxRunningSagas = try integerSetting("MAX_RUNNING_SAGAS", in: environment, default: configuration.maxRunningSagas, range: 1...1_000_000)
        configuration.kafkaFetchWaitMilliseconds = try integerSetting(
            "KAFKA_FETCH_WAIT_MS", in: environment, default: configuration.kafkaFetchWaitMilliseconds, range: 1...10_000)
        configuration.transactionBounds = TransactionBounds(
            lockTimeoutMilliseconds: try integerSetting(
                "DATABASE_LOCK_TIMEOUT_MS", in: environment, default: configuration.transactionBounds.lockTimeoutMilliseconds, range: 100...600_000),
            idleInTransactionMilliseconds: try integerSetting(
                "DATABASE_IDLE_IN_TRANSACTION_MS", in: environment, default: configuration.transactionBounds.idleInTransactionMilliseconds,
                range: 100...3_600_000))
        return configuration
    }
}

/// A service's own whole-number setting: unset or blank gives `default`; anything else must be
/// a whole number in `range`, or it is a `ConfigurationError` naming the variable (exit 2).
public func integerSetting(
    _ variable: String, in environment: [String: String] = ProcessInfo.processInfo.environment, default value: Int,
    range: ClosedRange<Int>
) throws(ConfigurationError) -> Int {
    guard let text = environment[variable]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return value }
    guard let number = Int(text), range.contains(number) else {
        throw ConfigurationError(variable: variable, value: text, reason: "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
    }
    return number
}

/// An environment variable with a value the service cannot use.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var variable: String
    /// The offending value; secrets are never echoed (see `DatabaseURL`).
    public var value: String
    public var reason: String

    public init(variable: String, value: String, reason: String) {
        self.variable = variable
        self.value = value
        self.reason = reason
    }

    public var description: String { "\(variable)=\(value): \(reason)" }
}
