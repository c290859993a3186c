import CheckoutSuite
import Foundation
import PostgresNIO
import SuiteTesting
import Testing

/// The right to erasure, end to end on the real services: a forgotten customer's details are
/// gone from everything the suite can read — read models, logs (at debug level), dead letters,
/// every table, every Kafka record — while their events still load, replay and rebuild, and
/// another customer's details stay.
@Suite("Forgetting a customer", .serialized)
struct ForgetCustomerTests {
    static let admin = ["Authorization": "Bearer test-token"]

    @Test("after forgetting a customer no read model, log line, dead letter, table or Kafka record shows their details; replay and rebuild still work")
    func forget() async throws {
        try await TestDatabase.withFresh { client, databaseURL in
            let stack = try await CheckoutStack(databaseURL: databaseURL, logLevel: "debug")
            defer { stack.killAll() }
            let http = stack.http
            // Each customer's details carry one marker, which nothing else in the suite contains.
            let forgotten = "fx\(UUID().uuidString.prefix(8).lowercased())"
            let kept = "kx\(UUID().uuidString.prefix(8).lowercased())"
            func details(_ marker: String) -> [String: Any] {
                ["name": "Ada \(marker) Lovelace", "email": "ada.\(marker)@example.com", "address": "12 \(marker) Square, London"]
            }
            func place(_ customer: String, _ marker: String) async throws -> String {
                let response = try await http.post(
                    "\(stack.commandURL)/orders",
                    body: .object([
                        "customerId": customer, "paymentMethod": "card", "customer": details(marker),
                        "lines": [["sku": "PEN", "quantity": 1, "unitPriceCents": 250]],
                    ]))
                guard response.status == 201, let id = response.json?["orderId"] as? String else {
                    throw Unexpected("place order: \(response.status) \(response.text)")
                }
                return id
            }
            func customerView(_ id: String) async throws -> [String: Any]? { try await http.get("\(stack.projectionURL)/customers/\(id)/orders").json }
            func shownDetails(_ id: String) async throws -> [String: Any]? { try await customerView(id)?["details"] as? [String: Any] }
            func customerData(of orderID: String) async throws -> Any? {
                let events = try await http.get("\(stack.commandURL)/streams/order-\(orderID)/events").json?["events"] as? [[String: Any]]
                return (events?.first?["data"] as? [String: Any])?["customer"]
            }

            try await stack.restock("PEN", 100)
            let shownOrder = try await place("c-forget", forgotten)
            let keptOrder = try await place("c-keep", kept)
            try await waitUntil("both customers' details in the read model", timeout: .seconds(60), every: .milliseconds(200)) {
                let forgottenShown = try await shownDetails("c-forget")?["email"] as? String == "ada.\(forgotten)@example.com"
                let keptShown = try await shownDetails("c-keep")?["name"] as? String == "Ada \(kept) Lovelace"
                return forgottenShown && keptShown
            }
            #expect((try await customerData(of: shownOrder) as? [String: Any])?["address"] as? String == "12 \(forgotten) Square, London")
            // The sweep finds a marker where one is (a probe table), and the read model that
            // shows the details keeps them sealed: no table holds them in clear.
            _ = try await client.query("CREATE TABLE read_models.sweep_probe (t text)", logger: testLogger("q")).collect()
            _ = try await client.query("INSERT INTO read_models.sweep_probe VALUES (\(forgotten))", logger: testLogger("q")).collect()
            #expect(try await tablesShowing(forgotten, client) == ["read_models.sweep_probe"], "the sweep finds a marker")
            _ = try await client.query("DROP TABLE read_models.sweep_probe", logger: testLogger("q")).collect()

            // A second order of the customer is parked by every projection (a dead letter).
            let fault = try await http.post("\(stack.projectionURL)/admin/faults", body: .object(["stream": "order-*", "enabled": true]), headers: Self.admin)
            #expect(fault.status == 200, "\(fault.text)")
            let parkedOrder = try await place("c-forget", forgotten)
            try await waitUntil("the second order parked", timeout: .seconds(60), every: .milliseconds(200)) {
                let letters = try await http.get("\(stack.projectionURL)/admin/dead-letters?projection=customers", headers: Self.admin)
                return letters.text.contains("order-\(parkedOrder)")
            }

            // The operator's way: suitectl.
            let forget = try await ToolRun.run(
                "suitectl", ["customers", "forget", "c-forget", "--operator", "dpo"],
                environment: ["COMMAND_SERVICE_URL": stack.commandURL, "ADMIN_TOKEN": "test-token"])
            #expect(forget.status == 0, "\(forget.errors)")
            #expect(forget.output.contains("forgot customer c-forget: 1 key(s) deleted; recorded on customer-c-forget v1"), "\(forget.output)")
            let again = try await http.post("\(stack.commandURL)/customers/c-forget/forget", headers: Self.admin)
            #expect(again.json?["keysDeleted"] as? Int == 0, "a repeat deletes nothing: \(again.text)")
            #expect(try await http.post("\(stack.commandURL)/customers/c-forget/forget").status == 401, "operators only")
            let badID = try await ToolRun.run("suitectl", ["customers", "forget", "no/such id"], environment: ["COMMAND_SERVICE_URL": stack.commandURL])
            #expect(badID.status == 64, "bad usage: \(badID.errors)")

            try await waitUntil("the read model dropped the forgotten details", timeout: .seconds(60), every: .milliseconds(200)) {
                guard let view = try await customerView("c-forget") else { return false }
                return view["details"] == nil || view["details"] is NSNull
            }
            for order in [shownOrder, parkedOrder] {
                #expect(try await customerData(of: order) as? [String: Bool] == ["erased": true], "order \(order) shows its customer erased")
                let state = try await http.get("\(stack.commandURL)/streams/order-\(order)/state")
                #expect(state.status == 200, "the order stream still loads: \(state.text)")
            }
            #expect((try await customerData(of: keptOrder) as? [String: Any])?["name"] as? String == "Ada \(kept) Lovelace")

            // Replay the parked order: it applies, with nothing to show of the customer.
            _ = try await http.post("\(stack.projectionURL)/admin/faults", body: .object(["stream": "order-*", "enabled": false]), headers: Self.admin)
            for projection in ["customers", "order-summary", "stock-levels"] {
                _ = try await http.post("\(stack.projectionURL)/admin/dead-letters/replay", body: .object(["projection": projection]), headers: Self.admin)
            }
            try await waitUntil("the parked order replayed", timeout: .seconds(60), every: .milliseconds(200)) {
                guard let view = try await customerView("c-forget") else { return false }
                return view["orders"] as? Int == 2
            }
            #expect(try await shownDetails("c-forget") == nil)

            // Rebuild from the event store: the forgotten customer's orders, without details; the
            // other customer's details again.
            let rebuild = try await http.post("\(stack.projectionURL)/admin/projections/customers/rebuild", headers: Self.admin)
            #expect(rebuild.status == 202, "\(rebuild.text)")
            try await waitUntil("the rebuild swapped in", timeout: .seconds(60), every: .milliseconds(200)) {
                try await client.query("SELECT status FROM read_models.rebuilds WHERE projection = 'customers'", logger: testLogger("q"))
                    .collect().first?.decode(String.self) == "swapped"
            }
            #expect(try await customerView("c-forget")?["orders"] as? Int == 2)
            #expect(try await shownDetails("c-forget") == nil)
            #expect(try await shownDetails("c-keep")?["email"] as? String == "ada.\(kept)@example.com")

            // Everything the suite can read.
            #expect(try await tablesShowing(forgotten, client) == [], "no table shows the forgotten details")
            #expect(try await tablesShowing(kept, client) == [], "no table holds details in clear, also where a read model shows them")
            let letters = try await http.get("\(stack.projectionURL)/admin/dead-letters?status=replayed", headers: Self.admin)
            #expect(letters.text.contains("order-\(parkedOrder)"), "the dead letters are there: \(letters.text.prefix(300))")
            #expect(!letters.text.contains(forgotten))
            let events = try await client.query("SELECT count(*)::int8 FROM event_store.events", logger: testLogger("q")).collect().first?.decode(Int64.self) ?? 0
            let records = try await stack.kafka.readAll(CheckoutNames.Topics.all, timeout: .seconds(60)) { records in
                records.filter { CheckoutNames.Topics.events.contains($0.topic) }.count >= events
                    && records.contains { $0.topic == CheckoutNames.Topics.deadLetters }
            }
            for record in records {
                let text = String(decoding: record.value, as: UTF8.self) + record.headers.map { String(decoding: $0.value ?? [], as: UTF8.self) }.joined()
                #expect(!text.contains(forgotten), "a \(record.topic) record shows the forgotten details")
                #expect(!text.contains(kept), "a \(record.topic) record shows details in clear")
            }
            await stack.stop()
            for file in stack.logFiles {
                let log = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
                #expect(!log.isEmpty, "\(file.lastPathComponent) logged nothing")
                #expect(!log.contains(forgotten), "\(file.lastPathComponent) shows the forgotten details")
            }
        }
    }

    /// Every table of the suite's schemas with a row whose text contains `marker`.
    private func tablesShowing(_ marker: String, _ client: PostgresClient) async throws -> [String] {
        let logger = testLogger("sweep")
        let tables = try await client.query(
            """
            SELECT table_schema || '.' || table_name FROM information_schema.tables
            WHERE table_schema IN ('event_store', 'read_models', 'sagas', 'ops') AND table_type = 'BASE TABLE' ORDER BY 1
            """, logger: logger
        ).collect().map { try $0.decode(String.self) }
        var showing: [String] = []
        for table in tables {
            var binds = PostgresBindings()
            binds.append(marker)
            let query = PostgresQuery(unsafeSQL: "SELECT count(*)::int8 FROM \(table) t WHERE t::text LIKE '%' || $1 || '%'", binds: binds)
            if try await client.query(query, logger: logger).collect().first?.decode(Int64.self) ?? 0 > 0 { showing.append(table) }
        }
        return showing
    }
}
