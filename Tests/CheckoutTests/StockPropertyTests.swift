import Checkout
import EventSourcing
import Testing

/// A 64-bit linear congruential generator (Knuth's MMIX constants): deterministic, so a failing
/// sequence is reproducible from its seed.
struct LCG: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        // The low bits of an LCG are weak: fold the high half down.
        return state ^ (state >> 32)
    }
}

@Suite("Stock decider properties")
struct StockPropertyTests {
    static let orders = ["o-1", "o-2", "o-3", "o-4"]
    static let allowedRejections: Set<String> = ["no_reservation"]

    static func randomCommand(using generator: inout LCG) -> StockCommand {
        let order = orders[Int.random(in: 0..<orders.count, using: &generator)]
        switch Int.random(in: 0..<4, using: &generator) {
        case 0: return .restock(quantity: Int.random(in: 1...5, using: &generator))
        case 1: return .reserve(orderID: order, quantity: Int.random(in: 1...6, using: &generator))
        case 2: return .release(orderID: order)
        default: return .commit(orderID: order)
        }
    }

    @Test("200 random command sequences keep stock non-negative and settle each order at most once")
    func randomSequencesKeepInvariants() throws {
        let decider = Stock.decider(sku: "SKU-1")
        var generator = LCG(seed: 0x5EED)
        var kinds: [String: Int] = [:]
        for sequence in 0..<200 {
            var state = decider.initialState
            var settlements: [String: Int] = [:]
            let commands = (0..<Int.random(in: 1...40, using: &generator)).map { _ in Self.randomCommand(using: &generator) }
            for command in commands {
                let events: [StockEvent]
                do {
                    events = try decider.decide(command, state)
                } catch {
                    #expect(Self.allowedRejections.contains(error.code), "sequence \(sequence): \(command) rejected with \(error)")
                    continue
                }
                for event in events {
                    switch event {
                    case .restocked: kinds["restocked", default: 0] += 1
                    case .reserved: kinds["reserved", default: 0] += 1
                    case .reservationRejected: kinds["reservationRejected", default: 0] += 1
                    case .released(let released):
                        kinds["released", default: 0] += 1
                        settlements[released.orderId, default: 0] += 1
                    case .committed(let committed):
                        kinds["committed", default: 0] += 1
                        settlements[committed.orderId, default: 0] += 1
                    }
                }
                state = decider.fold(events, from: state)
                try #require(state.available >= 0, "sequence \(sequence): available \(state.available) after \(command)")
                try #require(state.onHand >= 0, "sequence \(sequence): onHand \(state.onHand) after \(command)")
            }
            for (order, count) in settlements {
                #expect(count <= 1, "sequence \(sequence): order \(order) released or committed \(count) times")
            }
        }
        // Not vacuous: the generated sequences produce every kind of stock event.
        #expect(Set(kinds.keys) == ["restocked", "reserved", "reservationRejected", "released", "committed"], "\(kinds)")
    }
}
