import ChildProcesses
import Foundation
import JSONClient
import PostgresNIO
import SuiteTesting
import Testing

/// One checkout, one trace: the three services export their spans over OTLP (swift-otel, as
/// configured by the standard variables), the trace crosses both Kafka hops, every event stores
/// the trace it was written in and names its cause, and the log lines carry the trace id.
@Suite("Checkout traces", .serialized)
struct CheckoutTraceTests {
    /// A caller's W3C trace context: the checkout's spans all continue this trace.
    static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let traceparent = "00-\(traceID)-00f067aa0ba902b7-01"

    @Test("a checkout's spans from all three services join the caller's trace across both Kafka hops; events store it and name their cause")
    func oneTrace() async throws {
        let receiver = OTLPReceiver()
        try await receiver.serve { endpoint in
            try await TestDatabase.withFresh { client, databaseURL in
                let stack = try await CheckoutStack(
                    databaseURL: databaseURL, logLevel: "info",
                    environment: [
                        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_BSP_SCHEDULE_DELAY": "100",
                        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
                    ])
                defer { stack.killAll() }
                try await stack.restock("PEN", 10)
                let correlationID = "trace-test-\(UUID().uuidString.lowercased())"
                let response = try await stack.http.post(
                    "\(stack.commandURL)/orders",
                    body: .object(["customerId": "ada", "paymentMethod": "card", "lines": [["sku": "PEN", "quantity": 1, "unitPriceCents": 250]]]),
                    headers: ["traceparent": Self.traceparent, "X-Correlation-ID": correlationID])
                let orderID = try #require(response.json?["orderId"] as? String, "\(response.status) \(response.text)")
                #expect(try await stack.finishedSaga(orderID)["state"] as? String == "completed")

                // Every service's part arrives: the request and the order's command (command
                // service), the step on the order's event (orchestrator, after the event hop),
                // the saga's commands executed (command service, after the command hop), and the
                // projections' handling of the events.
                var trace: [OTLPReceiver.ReceivedSpan] = []
                let wanted: [(service: String, name: String)] = [
                    ("command-service", "/orders"), ("command-service", "command order"),
                    ("saga-orchestrator", "process checkout.orders.events"), ("saga-orchestrator", "saga step checkout"),
                    ("command-service", "process checkout.commands"), ("command-service", "command stock"), ("command-service", "command payment"),
                    ("projection-service", "process checkout.orders.events"), ("projection-service", "process checkout.payments.events"),
                ]
                // One tree: every span of the trace but the caller's root names a parent in it
                // (waited for too: a child span ends, and is exported, before its parent).
                func isOneTree(_ spans: [OTLPReceiver.ReceivedSpan]) -> Bool {
                    let ids = Set(spans.map(\.spanID)).union(["00f067aa0ba902b7"])
                    return spans.allSatisfy { ids.contains($0.parentSpanID) }
                }
                do {
                    try await waitUntil("the checkout's spans exported, as one tree", timeout: .seconds(30), every: .milliseconds(200)) {
                        trace = receiver.spans.filter { $0.traceID == Self.traceID }
                        return wanted.allSatisfy { want in trace.contains { $0.service == want.service && $0.name == want.name } } && isOneTree(trace)
                    }
                } catch {
                    Issue.record("missing: \(wanted.filter { want in !trace.contains { $0.service == want.service && $0.name == want.name } }); got \(trace.map(\.description))")
                }
                #expect(isOneTree(trace), "\(trace.map(\.description))")
                // Batch spans (their own traces) link to the checkout's.
                let all = receiver.spans
                for batch in ["append batch", "outbox relay publish", "saga command relay publish"] {
                    #expect(all.contains { $0.name == batch && $0.links.contains(Self.traceID) }, "no \(batch) linked to the checkout")
                }

                // Each event of the order's checkout stores the trace and names its cause: the
                // request's command (the first), or the event or saga command behind it.
                let events = try await client.query(
                    """
                    SELECT event_id::text, causation_id, metadata->>'traceparent', event_type FROM event_store.events
                    WHERE correlation_id = \(correlationID) ORDER BY global_position
                    """, logger: testLogger("trace")
                ).collect().map { try $0.decode((String, String?, String?, String).self) }
                #expect(events.count >= 4, "\(events)")
                let commandIDs = Set(
                    try await client.query("SELECT command_id FROM sagas.outbox WHERE correlation_id = \(orderID)", logger: testLogger("trace"))
                        .collect().map { try $0.decode(String.self).lowercased() })
                var causes = Set<String>()
                for (eventID, causation, traceparent, type) in events {
                    #expect(traceparent?.contains(Self.traceID) == true, "\(type) stores \(traceparent ?? "no trace")")
                    let cause = try #require(causation, "\(type) names no cause").lowercased()
                    #expect(
                        cause.hasPrefix("http-request:") || causes.contains(cause) || commandIDs.contains(cause), "\(type): cause \(cause) is unknown")
                    causes.insert(eventID.lowercased())
                }

                // The checkout's story from its correlation id alone, across the services' logs:
                // the request, the saga's steps, the commands the saga sent.
                let lines = stack.logFiles.flatMap { file in
                    ((try? String(contentsOf: file, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains(correlationID) }
                        .map { (service: file.lastPathComponent, line: $0) }
                }
                for (service, message) in [("command-service", "request handled"), ("saga-orchestrator", "saga advanced"), ("command-service", "command executed")] {
                    #expect(lines.contains { $0.service.hasPrefix(service) && $0.line.contains(message) }, "no \(service) line '\(message)' with \(correlationID)")
                }

                // The command service's log lines of this checkout carry the trace id.
                let commandLog = try String(contentsOf: try #require(stack.command.logFile), encoding: .utf8)
                let traced = commandLog.split(separator: "\n").filter { $0.contains("\"trace_id\":\"\(Self.traceID)\"") }
                #expect(traced.contains { $0.contains("request handled") }, "no request line with the trace id")
                #expect(traced.contains { $0.contains("command executed") }, "no command line with the trace id")
            }
        }
    }

    @Test("OTLP over http/protobuf reaches the endpoint, under the OTEL_SERVICE_NAME given")
    func protobufExport() async throws {
        let receiver = OTLPReceiver()
        try await receiver.serve { endpoint in
            try await TestDatabase.withFresh { _, databaseURL in
                let kafka = try TestKafka()
                let port = try freeLocalPort()
                let service = try ChildProcess.startBuilt(
                    "command-service", name: "command-service",
                    environment: [
                        "DATABASE_URL": databaseURL, "KAFKA_BROKERS": kafka.bootstrapServers, "PORT": "\(port)", "LOG_LEVEL": "warning",
                        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_BSP_SCHEDULE_DELAY": "100",
                        "OTEL_SERVICE_NAME": "orders-edge",
                    ])
                defer { service.kill() }
                let http = JSONClient()
                try await waitUntil("command service ready", timeout: .seconds(90), every: .milliseconds(200)) {
                    (try? await http.get("http://127.0.0.1:\(port)/health/ready").status) == 200
                }
                _ = try await http.post("http://127.0.0.1:\(port)/stock/PEN/restock", body: .object(["quantity": 1]))
                try await waitUntil("a protobuf export", timeout: .seconds(30), every: .milliseconds(100)) {
                    receiver.received.contains { $0.contentType == "application/x-protobuf" && $0.body.containsUTF8("orders-edge") }
                }
            }
        }
    }
}

extension [UInt8] {
    /// Whether the bytes hold `text` as UTF-8 (a protobuf string field holds it raw).
    func containsUTF8(_ text: String) -> Bool {
        let needle = Array(text.utf8)
        guard !needle.isEmpty, count >= needle.count else { return false }
        return (0...(count - needle.count)).contains { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
