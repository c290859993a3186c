import CheckoutSuite
import CheckoutReadModels
import ChildProcesses
import EventSourcing
import Foundation
import JSONClient
import Kafka
import PostgresNIO
import Projections
import SuiteTesting
import Testing

/// Several projection-service processes in one consumer group, killed and paused for real.
@Suite("Projectors scaled out", .serialized)
struct ScaledProjectorTests {
    static let skus = 2_000
    static let eventsPerSKU = 10
    /// Each SKU gets restocks of 1...10: exactly 55 on hand when every event is applied once.
    static let expectedOnHand = Int64(eventsPerSKU * (eventsPerSKU + 1) / 2)

    private func projector(_ name: String, databaseURL: String, kafka: TestKafka, port: Int = 0) throws -> ChildProcess {
        try ChildProcess.startBuilt(
            "projection-service", name: name,
            environment: [
                "DATABASE_URL": databaseURL, "KAFKA_BROKERS": kafka.bootstrapServers, "PORT": "\(port)", "INSTANCE_ID": name,
                "LOG_LEVEL": ProcessInfo.processInfo.environment["TEST_SERVICE_LOG_LEVEL"] ?? "warning", "LOG_FORMAT": "json",
            ])
    }

    /// Every SKU's on-hand equals the sum of its restocks: none lost, none applied twice.
    private func verify(_ client: PostgresClient, skus: Int) async throws {
        #expect(try await scalar(client, "SELECT count(*)::int8 FROM read_models.stock_levels") == Int64(skus))
        #expect(
            try await scalar(client, "SELECT count(*)::int8 FROM read_models.stock_levels WHERE on_hand <> \(Self.expectedOnHand)") == 0,
            "an event was applied twice or lost")
        #expect(
            try await scalar(client, "SELECT count(*)::int8 FROM read_models.stream_positions WHERE projection = 'stock-levels' AND version <> \(Self.eventsPerSKU)") == 0)
    }

    /// How many partitions the instance behind `baseURL` owns now (its `GET /projections`).
    private func ownedPartitions(_ baseURL: String) async throws -> Int {
        let report = try await JSONClient().get("\(baseURL)/projections").json
        let partitions = report?["partitions"] as? [[String: Any]] ?? []
        return partitions.filter { $0["ownedHere"] as? Bool == true }.count
    }

    private func applied(_ client: PostgresClient) async throws -> Int64 {
        try await scalar(client, "SELECT coalesce(sum(on_hand), 0)::int8 FROM read_models.stock_levels")
    }

    @Test("three projectors on 12 partitions, one killed with SIGKILL mid-run and another started: every event applied exactly once")
    func killedProjectorIsReplaced() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 12)
        try await TestDatabase.withFresh { client, databaseURL in
            try await migrateReadModels(client)
            let producer = try kafka.producer()
            let events = (0..<Self.skus).flatMap { TestEvents.restocks(sku: "SKU-\($0)", count: Self.eventsPerSKU) }
            var projectors = try (1...3).map { try projector("projector-\($0)", databaseURL: databaseURL, kafka: kafka) }
            defer { projectors.forEach { $0.kill() } }
            try await publish(Array(events.prefix(events.count / 2)), to: kafka, producer: producer)
            let total = Int64(Self.skus) * Self.expectedOnHand
            try await waitUntil("a third applied", timeout: .seconds(120)) { try await applied(client) > total / 6 }
            projectors[1].kill()
            projectors.append(try projector("projector-4", databaseURL: databaseURL, kafka: kafka))
            try await publish(Array(events.suffix(from: events.count / 2)), to: kafka, producer: producer)
            try await waitUntil("every event applied", timeout: .seconds(180)) { try await applied(client) >= total }
            await producer.close()
            try await verify(client, skus: Self.skus)
            let owners = try await client.query("SELECT DISTINCT owner FROM read_models.checkpoints", logger: testLogger("q")).collect()
                .map { try $0.decode(String.self) }
            #expect(owners.count >= 2, "the work was shared: \(owners)")
            for projector in projectors where projector.isRunning { await projector.stop() }
        }
    }

    @Test("a projector paused past its session (SIGSTOP) and resumed (SIGCONT) applies nothing twice")
    func zombieProjectorIsFenced() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 12)
        try await TestDatabase.withFresh { client, databaseURL in
            try await migrateReadModels(client)
            let producer = try kafka.producer()
            let skus = 500
            let events = (0..<skus).flatMap { TestEvents.restocks(sku: "SKU-\($0)", count: Self.eventsPerSKU) }
            let zombiePort = try freeLocalPort()
            let zombieURL = "http://127.0.0.1:\(zombiePort)"
            let first = try projector("zombie", databaseURL: databaseURL, kafka: kafka, port: zombiePort)
            let second = try projector("survivor", databaseURL: databaseURL, kafka: kafka)
            defer {
                first.kill()
                second.kill()
            }
            try await publish(Array(events.prefix(events.count / 2)), to: kafka, producer: producer)
            let total = Int64(skus) * Self.expectedOnHand
            try await waitUntil("both own partitions and work", timeout: .seconds(120)) {
                let owners = try await client.query("SELECT DISTINCT owner FROM read_models.checkpoints", logger: testLogger("q")).collect().count
                return owners == 2
            }
            first.signal(SIGSTOP)
            // Past the 6 s session: the survivor takes the zombie's partitions and advances them.
            try await publish(Array(events.suffix(from: events.count / 2)), to: kafka, producer: producer)
            try await waitUntil("the survivor applied everything", timeout: .seconds(120)) { try await applied(client) >= total }
            first.signal(SIGCONT)
            // The zombie finds its session gone, rejoins and is given partitions again (any stale
            // batch it had in flight must have been fenced by the checkpoint compare-and-set).
            try await waitUntil("the resumed instance noticed its lost session", timeout: .seconds(60)) {
                first.log.contains("assignment lost; rejoining the group")
            }
            try await waitUntil("the resumed instance owns partitions again", timeout: .seconds(120)) {
                try await ownedPartitions(zombieURL) > 0
            }
            let more = (skus..<(skus + 100)).flatMap { TestEvents.restocks(sku: "SKU-\($0)", count: Self.eventsPerSKU) }
            try await publish(more, to: kafka, producer: producer)
            try await waitUntil("the group applies the new events", timeout: .seconds(120)) {
                try await applied(client) >= Int64(skus + 100) * Self.expectedOnHand
            }
            #expect(try await ownedPartitions(zombieURL) > 0, "the resumed instance kept working in the group")
            await producer.close()
            try await verify(client, skus: skus + 100)
            await first.stop()
            await second.stop()
        }
    }
}
