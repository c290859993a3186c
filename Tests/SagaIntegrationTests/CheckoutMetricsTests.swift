import Foundation
import PostgresNIO
import SuiteTesting
import Testing

/// The on-call view: after one scripted checkout every service's `/metrics` parses as Prometheus
/// text, the counters moved by what the checkout did, and every query of the Grafana dashboard
/// names a metric a service exports.
@Suite("Checkout metrics and dashboard", .serialized)
struct CheckoutMetricsTests {
    @Test("metrics move by one checkout's work; each dashboard query names an exported metric")
    func metricsAndDashboard() async throws {
        try await TestDatabase.withFresh { client, databaseURL in
            let stack = try await CheckoutStack(databaseURL: databaseURL)
            defer { stack.killAll() }
            try await stack.restock("PEN", 10)
            let services = ["command-service": stack.commandURL, "projection-service": stack.projectionURL, "saga-orchestrator": stack.sagaURL]
            func scrape() async throws -> [String: PrometheusText] {
                var pages: [String: PrometheusText] = [:]
                for (name, url) in services {
                    let response = try await stack.http.get("\(url)/metrics")
                    #expect(response.status == 200)
                    pages[name] = try PrometheusText(response.text)
                }
                return pages
            }
            // The restock's event published first: the baseline holds nothing in flight.
            var before: [String: PrometheusText] = [:]
            try await waitUntil("the restock published", timeout: .seconds(30), every: .milliseconds(100)) {
                let stored = try await client.query("SELECT count(*)::int8 FROM event_store.events", logger: testLogger("metrics"))
                    .collect().first?.decode(Int64.self) ?? 0
                before = try await scrape()
                return before["command-service"]?.value("outbox_published_total") == Double(stored)
            }
            let correlationID = "metrics-test-\(UUID().uuidString.lowercased())"
            let placed = try await stack.http.post(
                "\(stack.commandURL)/orders",
                body: .object(["customerId": "ada", "paymentMethod": "card", "lines": [["sku": "PEN", "quantity": 1, "unitPriceCents": 250]]]),
                headers: ["X-Correlation-ID": correlationID])
            let orderID = try #require(placed.json?["orderId"] as? String, "\(placed.status) \(placed.text)")
            #expect(try await stack.finishedSaga(orderID)["state"] as? String == "completed")

            // What the checkout did, from the database: its events and the saga's commands.
            let events = try await client.query(
                "SELECT count(*)::int8 FROM event_store.events WHERE correlation_id = \(correlationID)", logger: testLogger("metrics")
            ).collect().first?.decode(Int64.self) ?? 0
            let commands = try await client.query(
                "SELECT count(*)::int8 FROM sagas.outbox WHERE correlation_id = \(orderID) AND kind = 'command'", logger: testLogger("metrics")
            ).collect().first?.decode(Int64.self) ?? 0
            #expect(events >= 4 && commands >= 2, "events \(events), commands \(commands)")

            func moved(_ service: String, _ name: String, _ labels: [String: String] = [:], _ after: [String: PrometheusText]) -> Double {
                (after[service]?.value(name, labels) ?? 0) - (before[service]?.value(name, labels) ?? 0)
            }
            var after = before
            let expected: [(service: String, name: String, labels: [String: String], by: Double)] = [
                ("command-service", "outbox_published_total", [:], Double(events)),
                ("saga-orchestrator", "saga_commands_published_total", [:], Double(commands)),
                ("command-service", "commands_executed_total", [:], Double(commands)),
                ("saga-orchestrator", "sagas_started_total", ["saga": "checkout"], 1),
                ("saga-orchestrator", "sagas_finished_total", ["saga": "checkout", "outcome": "completed"], 1),
            ]
            do {
                try await waitUntil("the counters settle", timeout: .seconds(30), every: .milliseconds(200)) {
                    after = try await scrape()
                    return expected.allSatisfy { moved($0.service, $0.name, $0.labels, after) >= $0.by }
                }
            } catch {
                Issue.record("\(error)")
            }
            for want in expected {
                #expect(moved(want.service, want.name, want.labels, after) == want.by, "\(want.service) \(want.name)\(want.labels)")
            }
            // The command service appended (one append per command at least) and timed it.
            #expect(moved("command-service", "eventstore_append_seconds_count", [:], after) >= Double(commands))
            #expect(moved("saga-orchestrator", "saga_step_seconds_count", ["saga": "checkout"], after) >= 1)
            for (service, page) in after {
                #expect(page.value("process_resident_memory_bytes") > 1_000_000, "\(service) resident memory")
                #expect(page.value("postgres_pool_connections_max") >= 1, "\(service) pool size")
            }

            // Every dashboard query reads metrics that exist.
            let exported = after.values.reduce(into: Set<String>()) { $0.formUnion($1.names) }
            let dashboard = try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
                    "../../deploy/grafana/dashboards/checkout-suite.json"))) as? [String: Any]
            let panels = try #require(dashboard?["panels"] as? [[String: Any]])
            #expect(panels.count >= 10)
            for panel in panels {
                let queries = (panel["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String }
                #expect(!queries.isEmpty, "panel \(panel["title"] ?? "?") has no query")
                for query in queries {
                    let names = metricNames(inQuery: query)
                    #expect(!names.isEmpty, "\(query) names no metric")
                    for name in names { #expect(exported.contains(name), "panel \(panel["title"] ?? "?"): \(name) is not exported") }
                }
            }
        }
    }
}
