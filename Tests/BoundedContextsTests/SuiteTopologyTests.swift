@testable import BoundedContexts
import EventSourcing
import Testing

/// Names are derived once, from the declarations: two contexts in one suite get their own
/// topics and groups and share the suite's roles and dead-letter topic.
@Suite("Suite topology")
struct SuiteTopologyTests {
    enum Booked: Sendable, Equatable { case booked }
    static let codec = EventCodec<Booked>([
        .json(Empty.self, type: "Booked", extract: { _ in Empty() }, wrap: { _ in .booked })
    ])
    struct Empty: Codable, Sendable, Equatable {}

    static let suite = Suite(
        name: "hotel",
        contexts: [
            BoundedContext(
                name: "booking", streams: [StreamType(category: "booking", topic: "hotel.bookings", codec: codec)],
                commands: CommandSide { _ in CommandPart(routes: { _ in }) }, readModels: ReadModelSide(readModels: [])),
            BoundedContext(name: "billing", streams: [StreamType(category: "invoice", codec: codec, snapshotEvery: 50)]),
        ],
        partitions: 4)

    @Test("topics, groups, roles and sources follow the declarations")
    func derived() throws {
        let topology = SuiteTopology(Self.suite)
        #expect(topology.topics.map(\.name) == ["hotel.bookings", "billing.invoice.events", "booking.commands", "hotel.deadletter"])
        #expect(topology.topics.allSatisfy { $0.partitions == 4 })
        #expect(topology.consumerGroups.map(\.name) == ["command-service", "hotel-read-models"])
        #expect(topology.consumerGroups.last?.topics == ["hotel.bookings", "billing.invoice.events"])
        #expect(topology.roles["projection-service"] == "hotel_projection_service")
        #expect(topology.database == "hotel")
        #expect(topology.streams.last?.snapshotEvery == 50)
        #expect(topology.streams.first?.eventTypes == ["Booked": 1])
        #expect(Self.suite.eventSource("invoice") == "billing/invoice")
        #expect(Self.suite.eventTopic("unknown") == "hotel.unknown.events")
        #expect(try topology.json().contains("\"hotel.deadletter\""))
    }
}
