import ServiceHTTP
import ServiceSupport
import Testing

@Suite("Configuration from the environment")
struct ServiceConfigurationTests {
    @Test("no variables set: defaults for a local run")
    func defaults() throws {
        let configuration = try ServiceConfiguration.fromEnvironment(service: "command-service", defaultPort: 8081, defaultDatabase: "shop", environment: [:])
        #expect(configuration.port == 8081)
        #expect(configuration.databaseURL == "postgres://postgres@127.0.0.1:5432/shop?sslmode=disable")
        #expect(configuration.kafkaBrokers == ServiceConfiguration.defaultKafkaBrokers)
        #expect(configuration.adminToken == nil)
        #expect(configuration.logFormat == .text)
        #expect(configuration.instanceID.hasPrefix("command-service-"))
    }

    @Test("every documented variable is read")
    func readsVariables() throws {
        let configuration = try ServiceConfiguration.fromEnvironment(
            service: "saga-orchestrator", defaultPort: 8083, defaultDatabase: "shop",
            environment: [
                "DATABASE_URL": "postgres://saga:secret@db:5433/checkout", "KAFKA_BROKERS": "k1:9092,k2:9092",
                "PORT": "9000", "INSTANCE_ID": "saga-1", "ADMIN_TOKEN": "t0ken", "LOG_LEVEL": "DEBUG", "LOG_FORMAT": "json",
            ])
        #expect(configuration.port == 9000)
        #expect(configuration.kafkaBrokers == "k1:9092,k2:9092")
        #expect(configuration.instanceID == "saga-1")
        #expect(configuration.adminToken == "t0ken")
        #expect(configuration.logLevel == .debug)
        #expect(configuration.logFormat == .json)
    }

    @Test("an empty ADMIN_TOKEN leaves admin off")
    func emptyToken() throws {
        let configuration = try ServiceConfiguration.fromEnvironment(service: "s", defaultPort: 1, defaultDatabase: "shop", environment: ["ADMIN_TOKEN": "  "])
        #expect(configuration.adminToken == nil)
    }

    @Test(
        "bad values name the variable and the reason",
        arguments: [
            ("PORT", "eighty"), ("PORT", "70000"), ("LOG_LEVEL", "loud"), ("LOG_FORMAT", "xml"),
            ("DATABASE_URL", "mysql://u@h/db"), ("DATABASE_URL", "postgres://h/db"),
            ("DATABASE_URL", "postgres://u@h/db?sslmode=sometimes"),
        ])
    func rejectsBadValues(variable: String, value: String) {
        let error = #expect(throws: ConfigurationError.self) {
            try ServiceConfiguration.fromEnvironment(service: "s", defaultPort: 1, defaultDatabase: "shop", environment: [variable: value])
        }
        #expect(error?.variable == variable)
        #expect(error?.reason.isEmpty == false)
    }
}

@Suite("DATABASE_URL")
struct DatabaseURLTests {
    @Test("parses user, password, host, port, database and sslmode")
    func parses() throws {
        let url = try DatabaseURL("postgresql://app%40x:p%2Fss@db.internal:6543/checkout?sslmode=require")
        #expect(url.username == "app@x")
        #expect(url.password == "p/ss")
        #expect(url.host == "db.internal")
        #expect(url.port == 6543)
        #expect(url.database == "checkout")
        #expect(url.sslMode == "require")
    }

    @Test("the password never appears in errors or logs")
    func redacts() {
        let error = #expect(throws: ConfigurationError.self) { try DatabaseURL("postgres://u:hunter2@/db") }
        #expect(error?.value.contains("hunter2") == false)
        #expect(DatabaseURL.redacted("postgres://u:hunter2@h/db").contains("hunter2") == false)
    }
}
