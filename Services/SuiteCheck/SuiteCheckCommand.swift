import ArgumentParser
import BoundedContexts
import CheckoutSuite
import EventStore
import Foundation
import InvariantChecks
import Logging
import PostgresNIO
import ServiceSupport

/// `suite-check`: after a run has settled, checks from PostgreSQL and Kafka that nothing was
/// lost, applied twice or left unfinished, and prints every check with its count and every
/// violation.
@main
struct SuiteCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite-check",
        abstract: "Check the suite's invariants after a run: events on Kafka, read models, sagas, stock, effects, dead letters.",
        discussion: """
            Run it when the system has settled (no checkouts in flight, relays and consumers caught
            up): a read model is compared with a fresh build, and a saga still running is a
            violation once its deadline has passed. Exit codes: 0 every invariant holds; 1 at
            least one violation; 2 the checks could not run (database unreachable, bad settings).
            """)

    @Option(help: "PostgreSQL URL (default $DATABASE_URL).") var databaseURL: String?
    @Option(help: "Kafka bootstrap servers (default $KAFKA_BROKERS); without either, events-on-kafka is skipped.") var kafkaBrokers: String?
    @Option(help: "Dead letters a drill parked on purpose.") var allowParked: Int64 = 0
    @Option(name: .customLong("skip"), help: "Leave out a check by name (repeatable).") var skipped: [String] = []
    @Flag(help: "Print the results as JSON.") var json = false

    func run() async throws {
        var logger = Logger(label: "suite-check")
        logger.logLevel = .error
        let environment = ProcessInfo.processInfo.environment
        guard let url = databaseURL ?? environment["DATABASE_URL"], let database = try? DatabaseURL(url) else {
            FileHandle.standardError.write(Data("suite-check: give --database-url or DATABASE_URL (a postgres:// URL)\n".utf8))
            throw ExitCode(2)
        }
        let brokers = kafkaBrokers ?? environment["KAFKA_BROKERS"]
        let client = PostgresClient(configuration: database.clientConfiguration, backgroundLogger: logger)
        let report = await withTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            let store = PostgresEventStore(client: client, logger: logger, topicForStreamType: checkoutSuite.eventTopic)
            let invariants = SuiteInvariants.all(checkoutSuite, store: store, bootstrapServers: brokers, allowedParked: allowParked)
                .filter { !skipped.contains($0.name) }
            let results = await InvariantChecker(invariants).run(CheckContext(client: client, logger: logger))
            group.cancelAll()
            return results
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(InvariantReport.table(report))
        }
        if report.contains(where: { $0.violations.contains { $0.hasPrefix("could not check") } }) { throw ExitCode(2) }
        if !report.allSatisfy(\.holds) { throw ExitCode(1) }
    }
}
