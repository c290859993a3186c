import BoundedContexts
import Checkout
import CheckoutSuite
import EventSourcing
import Foundation
import Testing

/// Every event type of every context of the suite, with its stream type, example and the
/// schema version it is written with today; each context keeps its schemas in its own folder
/// (`Contexts/<Context>/schemas/<Type>.v<N>.json`).
struct SuiteEvent {
    var context: String
    var stream: StreamType
    var example: EventExample
    var version: Int

    static let all: [SuiteEvent] = checkoutSuite.contexts.flatMap { context in
        context.streams.flatMap { stream in
            stream.examples.map { SuiteEvent(context: context.name, stream: stream, example: $0, version: stream.schemaVersions[$0.type] ?? 0) }
        }
    }

    /// `Contexts/Checkout` for context `checkout`.
    static func folder(of context: String) -> String { "Contexts/\(context.prefix(1).uppercased() + context.dropFirst())" }
    var schemaPath: String { Self.schemaPath(context: context, type: example.type, version: version) }
    static func schemaPath(context: String, type: String, version: Int) -> String { "\(folder(of: context))/schemas/\(type).v\(version).json" }
}

/// The compatibility gate: every event type's shape, as its Swift type has it today, must equal
/// the JSON Schema committed for its current version in its context's `schemas/`. Changing a payload type
/// without a new schema version (and an upcaster) fails here with a message that says which
/// event, which field and what to do.
@Suite("Event schema compatibility gate")
struct SchemaGateTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func committedSchema(_ type: String, version: Int, context: String = "checkout") throws -> JSONValue? {
        let file = repository.appendingPathComponent(SuiteEvent.schemaPath(context: context, type: type, version: version))
        guard let data = FileManager.default.contents(atPath: file.path) else { return nil }
        return try JSONDecoder().decode(JSONValue.self, from: data)
    }

    static func pretty(_ schema: JSONValue) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(schema), as: UTF8.self)
    }

    @Test("every event type the codecs write has an example, and every example is a type they write")
    func examplesCoverTheCodecs() {
        for context in checkoutSuite.contexts {
            for stream in context.streams {
                #expect(stream.examples.map(\.type).sorted() == stream.eventTypes.sorted(), "\(context.name) \(stream.category)")
                #expect(stream.examples.allSatisfy { $0.streamType == stream.category }, "\(context.name) \(stream.category)")
            }
        }
    }

    @Test("each event type's shape equals the schema committed for its current version")
    func shapesMatchTheCommittedSchemas() throws {
        for event in SuiteEvent.all {
            let (example, version) = (event.example, event.version)
            let current = try example.schema()
            guard let committed = try Self.committedSchema(example.type, version: version, context: event.context) else {
                Issue.record(
                    """
                    no committed schema for \(example.type) v\(version): save this as \(event.schemaPath)
                    \(try Self.pretty(current))
                    """)
                continue
            }
            let changes = SchemaCompatibility.changes(from: committed, to: current)
            #expect(changes.isEmpty, "\(SchemaCompatibility.message(type: example.type, version: version, changes: changes))")
        }
    }

    @Test("a deliberately changed event (a renamed field) fails the gate with the documented message")
    func changedEventFailsTheGate() throws {
        let committed = try #require(try Self.committedSchema("OrderPlaced", version: 2))
        // The change a developer might make: paymentMethod renamed to method in the Swift type.
        var renamed = committed
        var properties = try #require({ if case .object(let fields) = committed["properties"] { fields } else { nil } }())
        properties["method"] = properties.removeValue(forKey: "paymentMethod")
        renamed["properties"] = .object(properties)
        renamed["required"] = .array(["customerId", "lines", "method", "orderId", "totalCents"].map(JSONValue.string))

        let changes = SchemaCompatibility.changes(from: committed, to: renamed)
        #expect(changes == [.init(field: "method", kind: .added(required: true)), .init(field: "paymentMethod", kind: .removed)])
        let message = SchemaCompatibility.message(type: "OrderPlaced", version: 2, changes: changes)
        #expect(message.hasPrefix("event OrderPlaced v2 changed without a new schema version: field `method` added (required); field `paymentMethod` removed."))
        #expect(message.contains("give OrderPlaced schema version 3"))
        #expect(message.contains(#"Upcaster(type: "OrderPlaced", fromVersion: 2)"#))
        #expect(message.contains("Tests/Fixtures/events/OrderPlaced.v2.json"))
    }

    // MARK: - Each kind of change, on a payload type made for the purpose

    struct LineV1: Codable, Sendable { var sku: String; var quantity: Int }
    struct OrderV1: Codable, Sendable { var orderId: String; var note: String?; var lines: [LineV1] }
    struct OrderRenamed: Codable, Sendable { var id: String; var note: String?; var lines: [LineV1] }
    struct OrderRemoved: Codable, Sendable { var orderId: String; var lines: [LineV1] }
    struct OrderAddedRequired: Codable, Sendable { var orderId: String; var note: String?; var lines: [LineV1]; var currency: String }
    struct LineRetyped: Codable, Sendable { var sku: String; var quantity: String }
    struct OrderRetyped: Codable, Sendable { var orderId: String; var note: String?; var lines: [LineRetyped] }
    struct OrderNoteRequired: Codable, Sendable { var orderId: String; var note: String; var lines: [LineV1] }

    func changes(to new: some Encodable & Sendable) throws -> [SchemaCompatibility.Change] {
        let old = try PayloadSchema.of(OrderV1(orderId: "o", note: "n", lines: [LineV1(sku: "s", quantity: 1)]), title: "Order")
        return SchemaCompatibility.changes(from: old, to: try PayloadSchema.of(new, title: "Order"))
    }

    @Test("renaming, removing, adding a required field, changing a type and making a field required are each named")
    func eachKindOfChange() throws {
        let line = LineV1(sku: "s", quantity: 1)
        #expect(try changes(to: OrderRenamed(id: "o", note: "n", lines: [line])) == [.init(field: "id", kind: .added(required: true)), .init(field: "orderId", kind: .removed)])
        #expect(try changes(to: OrderRemoved(orderId: "o", lines: [line])) == [.init(field: "note", kind: .removed)])
        #expect(try changes(to: OrderAddedRequired(orderId: "o", note: "n", lines: [line], currency: "EUR")) == [.init(field: "currency", kind: .added(required: true))])
        #expect(
            try changes(to: OrderRetyped(orderId: "o", note: "n", lines: [LineRetyped(sku: "s", quantity: "1")]))
                == [.init(field: "lines[].quantity", kind: .typeChanged(from: "integer", to: "string"))])
        #expect(try changes(to: OrderNoteRequired(orderId: "o", note: "n", lines: [line])) == [.init(field: "note", kind: .becameRequired)])
        #expect(try changes(to: OrderV1(orderId: "x", note: "y", lines: [line])).isEmpty, "the same shape with other values is no change")
    }

    @Test("an example that leaves an optional field nil or an array empty cannot describe its type, and says which field")
    func underivableExamples() {
        #expect(throws: PayloadSchema.Underivable.self) { try PayloadSchema.of(OrderV1(orderId: "o", note: nil, lines: [LineV1(sku: "s", quantity: 1)]), title: "Order") }
        #expect(throws: PayloadSchema.Underivable.self) { try PayloadSchema.of(OrderV1(orderId: "o", note: "n", lines: []), title: "Order") }
    }
}
