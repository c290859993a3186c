import CheckoutSuite
import ChildProcesses
import Foundation
import JSONClient
import PostgresNIO
import SuiteTesting
import Testing

/// The dead-letter runbook as an operator runs it: `suitectl` against a running projection service.
@Suite("Operator CLI: dead letters", .serialized)
struct OperatorCLITests {
    @Test("a poison event is parked, listed by suitectl, replayed after the fix and gone; a skip records its reason in the audit log")
    func deadLetterRunbook() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 3)
        try await TestDatabase.withFresh { client, databaseURL in
            let port = try freeLocalPort()
            let url = "http://127.0.0.1:\(port)"
            let service = try ChildProcess.startBuilt(
                "projection-service", name: "projection-cli",
                environment: [
                    "DATABASE_URL": databaseURL, "KAFKA_BROKERS": kafka.bootstrapServers, "PORT": "\(port)", "ADMIN_TOKEN": "ops-token",
                    "PROJECTION_RETRY_ATTEMPTS": "2", "LOG_LEVEL": "warning",
                ])
            defer { service.kill() }
            let http = JSONClient()
            let admin = ["Authorization": "Bearer ops-token"]
            try await waitUntil("projection service ready", timeout: .seconds(60), every: .milliseconds(200)) {
                (try? await http.get("\(url)/health/ready").status) == 200
            }
            let suitectl: @Sendable ([String]) async throws -> ToolRun = { arguments in
                try await ToolRun.run(
                    "suitectl", arguments + ["--json", "--operator", "night-shift"],
                    environment: ["PROJECTION_SERVICE_URL": url, "ADMIN_TOKEN": "ops-token"])
            }
            // The drill hook makes the stock projection fail on two streams.
            for stream in ["stock-POISON", "stock-SKIPME"] {
                let fault = try await http.post("\(url)/admin/faults", body: .object(["stream": stream, "enabled": true]), headers: admin)
                #expect(fault.status == 200)
            }
            let producer = try kafka.producer()
            let events = ["POISON", "SKIPME", "FINE"].flatMap { TestEvents.restocks(sku: $0, count: 3) }
            for result in await producer.send(events.map { TestEvents.message($0, topic: CheckoutNames.Topics.stockEvents) }) { _ = try result.get() }
            await producer.close()

            // Parked, and listed by the CLI: the failing event and the two behind it, per stream.
            var letters: [[String: Any]] = []
            try await waitUntil("dead letters listed", timeout: .seconds(60), every: .milliseconds(300)) {
                let run = try await suitectl(["dead-letters", "list", "--projection", "stock-levels"])
                letters = (try? JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [[String: Any]]) ?? []
                return letters.count == 6
            }
            #expect(Set(letters.compactMap { $0["streamId"] as? String }) == ["stock-POISON", "stock-SKIPME"])

            // The fix is deployed (fault off); the replay applies the stream in order.
            _ = try await http.post("\(url)/admin/faults", body: .object(["stream": "stock-POISON", "enabled": false]), headers: admin)
            let replay = try await suitectl(["dead-letters", "replay", "--projection", "stock-levels", "--stream", "stock-POISON"])
            #expect(replay.status == 0, "\(replay.errors)")
            let onHand = try await client.query("SELECT on_hand FROM read_models.stock_levels WHERE sku = 'POISON'", logger: testLogger("q"))
                .collect().first?.decode(Int64.self)
            #expect(onHand == 6, "1 + 2 + 3 applied once each, in order")
            let remaining = try await suitectl(["dead-letters", "list", "--projection", "stock-levels", "--stream", "stock-POISON"])
            #expect((try JSONSerialization.jsonObject(with: Data(remaining.output.utf8)) as? [Any])?.isEmpty == true)

            // Skip the first SKIPME event with a reason: it is recorded in the audit log.
            let first = try #require(
                letters.filter { $0["streamId"] as? String == "stock-SKIPME" }.min { ($0["streamVersion"] as? Int ?? 0) < ($1["streamVersion"] as? Int ?? 0) })
            let id = try #require(first["id"] as? Int)
            let noReason = try await suitectl(["dead-letters", "skip", "\(id)"])
            #expect(noReason.status == 64, "a skip without a reason is refused as bad usage")
            let skip = try await suitectl(["dead-letters", "skip", "\(id)", "--reason", "test data, not a real delivery"])
            #expect(skip.status == 0, "\(skip.errors)")
            let audit = try await client.query(
                "SELECT operator, action, body, status FROM ops.audit_log WHERE action LIKE '%/skip'", logger: testLogger("q")
            ).collect().map { try $0.decode((String, String, String, Int32).self) }
            #expect(audit.count == 1 && audit.first?.0 == "night-shift" && audit.first?.2.contains("test data, not a real delivery") == true && audit.first?.3 == 200, "\(audit)")
            // A wrong token is refused with the exit code for "refused".
            let refused = try await ToolRun.run(
                "suitectl", ["dead-letters", "list"], environment: ["PROJECTION_SERVICE_URL": url, "ADMIN_TOKEN": "wrong"])
            #expect(refused.status == 4)
            await service.stop()
        }
    }

    @Test("a checkpoint reset outside a partition's records (past its end, before its start) is refused and moves nothing; within them it moves (issue 22)")
    func checkpointResetStaysOnTheLog() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 2)
        try await TestDatabase.withFresh { client, databaseURL in
            let port = try freeLocalPort()
            let url = "http://127.0.0.1:\(port)"
            let service = try ChildProcess.startBuilt(
                "projection-service", name: "projection-reset",
                environment: [
                    "DATABASE_URL": databaseURL, "KAFKA_BROKERS": kafka.bootstrapServers, "PORT": "\(port)", "ADMIN_TOKEN": "ops-token",
                    "LOG_LEVEL": "warning",
                ])
            defer { service.kill() }
            let http = JSONClient()
            try await waitUntil("projection service ready", timeout: .seconds(60), every: .milliseconds(200)) {
                (try? await http.get("\(url)/health/ready").status) == 200
            }
            let producer = try kafka.producer()
            let topic = CheckoutNames.Topics.stockEvents
            for result in await producer.send(TestEvents.restocks(sku: "RESET", count: 3).map { event in
                var message = TestEvents.message(event, topic: topic)
                message.partition = 0
                return message
            }) { _ = try result.get() }
            await producer.close()
            func checkpoint() async throws -> Int64? {
                try await client.query(
                    "SELECT next_offset FROM read_models.checkpoints WHERE topic = \(topic) AND partition = 0", logger: testLogger("q")
                ).collect().first?.decode(Int64.self)
            }
            try await waitUntil("the three records applied", timeout: .seconds(60), every: .milliseconds(200)) { try await checkpoint() == 3 }
            let reset: @Sendable ([String]) async throws -> ToolRun = { arguments in
                try await ToolRun.run(
                    "suitectl", ["projections", "reset", "--topic", topic] + arguments,
                    environment: ["PROJECTION_SERVICE_URL": url, "ADMIN_TOKEN": "ops-token"])
            }
            let pastTheEnd = try await reset(["--partition", "0", "--offset", "4"])
            #expect(pastTheEnd.status != 0 && pastTheEnd.errors.contains("offset"), "\(pastTheEnd.output) \(pastTheEnd.errors)")
            let everyPartition = try await reset(["--offset", "1000"])
            #expect(everyPartition.status != 0, "\(everyPartition.output)")
            #expect(try await checkpoint() == 3, "nothing moved")
            let back = try await reset(["--partition", "0", "--offset", "1"])
            #expect(back.status == 0, "\(back.errors)")
            let atTheEnd = try await reset(["--partition", "0", "--offset", "3"])
            #expect(atTheEnd.status == 0, "the end itself is a valid place: \(atTheEnd.errors)")
        }
    }
}
