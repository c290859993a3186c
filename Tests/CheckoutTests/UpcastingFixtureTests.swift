@testable import Checkout
import EventSourcing
import Foundation
import Testing

/// Stored payloads of every old schema version, read through today's codecs.
@Suite("Upcasting stored fixtures")
struct UpcastingFixtureTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func fixture(_ path: String) throws -> [UInt8] {
        Array(try #require(FileManager.default.contents(atPath: fixtures.appendingPathComponent(path).path)))
    }

    @Test(
        "every stored fixture of an old version of a suite event reads as today's type (OrderPlaced v1: paid by card; v2: no customer details; PaymentRefunded v1: the checkout saga's refund)"
    )
    func suiteFixtures() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.appendingPathComponent("events").path).sorted()
        #expect(!names.isEmpty)
        for name in names {
            let parts = name.split(separator: ".")
            let type = String(parts[0])
            let version = try #require(Int(parts[1].dropFirst()), "fixture names are <Type>.v<N>.json: \(name)")
            #expect(version < (EventExamples.schemaVersion(of: type) ?? 0), "\(name): fixtures are of old versions")
            let encoded = EncodedEvent(type: type, schemaVersion: version, payload: try Self.fixture("events/\(name)"))
            switch type {
            case _ where Order.codec.eventTypes.contains(type):
                let event = try Order.codec.decode(encoded)
                if case .placed(let placed) = event {
                    #expect(placed.paymentMethod == (version == 1 ? "card" : "card-declined"), "\(name)")
                    #expect(placed.customer == nil, "\(name)")
                }
            case _ where Stock.codec.eventTypes.contains(type): _ = try Stock.codec.decode(encoded)
            case _ where Customer.codec.eventTypes.contains(type): _ = try Customer.codec.decode(encoded)
            default:
                let event = try Payment.codec.decode(encoded)
                if case .refunded(let refunded) = event {
                    let orderID = "4d1c7a52-90b0-4a4e-8f0e-5d2a7b3c9e01"
                    #expect(refunded == PaymentRefunded(orderId: orderID, amountCents: 300, refundId: "checkout-\(orderID)"), "\(name)")
                }
            }
        }
    }

    // A chain of three versions: v2 renamed `order` to `orderId`, v3 turned `weight` (kilograms,
    // a string) into `weightGrams` (an integer).
    struct Shipped: Codable, Sendable, Equatable {
        var orderId: String
        var weightGrams: Int
    }

    struct Malformed: Error {}

    static let codec = EventCodec<Shipped>(
        [.json(Shipped.self, type: "Shipped", version: 3, extract: { $0 }, wrap: { $0 })],
        upcasters: [
            Upcaster(type: "Shipped", fromVersion: 1) { document in
                var upgraded = document
                upgraded["orderId"] = document["order"]
                upgraded["order"] = nil
                return upgraded
            },
            Upcaster(type: "Shipped", fromVersion: 2) { document in
                guard case .string(let kilograms) = document["weight"], let value = Double(kilograms) else { throw Malformed() }
                var upgraded = document
                upgraded["weightGrams"] = .integer(Int64((value * 1_000).rounded()))
                upgraded["weight"] = nil
                return upgraded
            },
        ])

    @Test("an upcaster chain v1 -> v2 -> v3 reads the stored fixture of every old version as v3")
    func chain() throws {
        for version in [1, 2] {
            let encoded = EncodedEvent(type: "Shipped", schemaVersion: version, payload: try Self.fixture("upcasting/Shipped.v\(version).json"))
            #expect(try Self.codec.decode(encoded) == Shipped(orderId: "o-1", weightGrams: 1_500), "from v\(version)")
        }
        let newer = EncodedEvent(type: "Shipped", schemaVersion: 4, payload: Array(#"{"orderId":"o-1","weightGrams":1}"#.utf8))
        #expect(throws: EventCodingError.self, "a version newer than the code knows is refused, not guessed") { try Self.codec.decode(newer) }
    }
}
