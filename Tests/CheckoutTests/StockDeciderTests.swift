@testable import Checkout
import EventSourcing
import Foundation
import SuiteTesting
import Testing

@Suite("Stock decider")
struct StockDeciderTests {
    let sku = "SKU-1"
    var spec: DeciderSpecification<StockCommand, StockState, StockEvent> { DeciderSpecification(Stock.decider(sku: sku)) }

    func restocked(_ quantity: Int) -> StockEvent { .restocked(StockRestocked(sku: sku, quantity: quantity)) }
    func reserved(_ order: String, _ quantity: Int) -> StockEvent { .reserved(StockReserved(sku: sku, orderId: order, quantity: quantity)) }
    func released(_ order: String, _ quantity: Int) -> StockEvent { .released(StockReleased(sku: sku, orderId: order, quantity: quantity)) }
    func committed(_ order: String, _ quantity: Int) -> StockEvent { .committed(StockCommitted(sku: sku, orderId: order, quantity: quantity)) }

    // MARK: restock

    @Test("restocking a positive quantity emits StockRestocked")
    func restockPositive() {
        spec.when(.restock(quantity: 5)).then([restocked(5)])
    }

    @Test("restocking a non-positive quantity is rejected", arguments: [0, -3])
    func restockNonPositive(quantity: Int) {
        spec.when(.restock(quantity: quantity)).thenRejects("invalid_quantity", field: "quantity")
    }

    @Test("restocking past Int.max is rejected")
    func restockOverflow() {
        spec.given(restocked(Int.max - 1)).when(.restock(quantity: 2)).thenRejects("invalid_quantity", field: "quantity")
    }

    // MARK: reserve

    @Test("reserving within the available stock emits StockReserved")
    func reserveWithinAvailable() {
        spec.given(restocked(5), reserved("o-0", 2)).when(.reserve(orderID: "o-1", quantity: 3)).then([reserved("o-1", 3)])
    }

    @Test("reserving beyond the available stock emits StockReservationRejected with the available count")
    func reserveBeyondAvailable() {
        spec.given(restocked(5), reserved("o-0", 2)).when(.reserve(orderID: "o-1", quantity: 4))
            .then([
                .reservationRejected(StockReservationRejected(sku: sku, orderId: "o-1", quantity: 4, available: 3, reason: "out of stock"))
            ])
    }

    @Test("reserving a non-positive quantity is rejected")
    func reserveNonPositive() {
        spec.given(restocked(5)).when(.reserve(orderID: "o-1", quantity: 0)).thenRejects("invalid_quantity", field: "quantity")
    }

    @Test("reserving for the same order twice emits nothing")
    func reserveTwice() {
        spec.given(restocked(5), reserved("o-1", 2)).when(.reserve(orderID: "o-1", quantity: 2)).then([])
    }

    @Test("reserving for an order whose reservation was released emits nothing")
    func reserveAfterRelease() {
        spec.given(restocked(5), reserved("o-1", 2), released("o-1", 2)).when(.reserve(orderID: "o-1", quantity: 2)).then([])
    }

    @Test("reserving for an order that was rejected emits nothing, even after a restock")
    func reserveAfterRejection() {
        let rejected = StockEvent.reservationRejected(
            StockReservationRejected(sku: sku, orderId: "o-1", quantity: 9, available: 0, reason: "out of stock"))
        spec.given(rejected, restocked(10)).when(.reserve(orderID: "o-1", quantity: 9)).then([])
    }

    // MARK: release

    @Test("a reservation is released once, and releasing it again emits nothing")
    func releaseAtMostOnce() {
        let history = spec.given(restocked(5), reserved("o-1", 2))
        history.when(.release(orderID: "o-1")).then([released("o-1", 2)])
        history.given(released("o-1", 2)).when(.release(orderID: "o-1")).then([])
    }

    @Test("releasing before any reservation settles the order (quantity 0); a late reservation is refused")
    func releaseUnknown() {
        spec.given(restocked(5)).when(.release(orderID: "o-9")).then([released("o-9", 0)])
        spec.given(restocked(5), released("o-9", 0)).when(.reserve(orderID: "o-9", quantity: 1)).then([])
        spec.given(restocked(5), released("o-9", 0)).when(.release(orderID: "o-9")).then([])
        #expect(spec.given(restocked(5), released("o-9", 0)).state.available == 5)
    }

    @Test("releasing frees the reserved quantity")
    func releaseFreesStock() {
        let state = spec.given(restocked(5), reserved("o-1", 2), released("o-1", 2)).state
        #expect(state.onHand == 5)
        #expect(state.available == 5)
        #expect(state.reservations.isEmpty)
    }

    // MARK: commit

    @Test("committing emits StockCommitted, reduces on-hand stock and clears the reservation")
    func commitReducesOnHand() {
        let history = spec.given(restocked(5), reserved("o-1", 2), reserved("o-2", 1))
        history.when(.commit(orderID: "o-1")).then([committed("o-1", 2)])
        let state = history.given(committed("o-1", 2)).state
        #expect(state.onHand == 3)
        #expect(state.reservations["o-1"] == nil)
        #expect(state.reserved == 1)
        #expect(state.available == 2)
    }

    @Test("committing for an order that never reserved is rejected")
    func commitUnknown() {
        spec.given(restocked(5)).when(.commit(orderID: "o-9")).thenRejects("no_reservation")
    }

    @Test("committing an already committed reservation emits nothing")
    func commitTwice() {
        spec.given(restocked(5), reserved("o-1", 2), committed("o-1", 2)).when(.commit(orderID: "o-1")).then([])
    }

    @Test("a committed reservation cannot be released afterwards")
    func releaseAfterCommit() {
        spec.given(restocked(5), reserved("o-1", 2), committed("o-1", 2)).when(.release(orderID: "o-1")).then([])
    }

    // MARK: invariants

    @Test("available stock never goes negative across a sequence of commands")
    func availableNeverNegative() throws {
        let decider = Stock.decider(sku: sku)
        let commands: [StockCommand] = [
            .restock(quantity: 3), .reserve(orderID: "a", quantity: 2), .reserve(orderID: "b", quantity: 2),
            .commit(orderID: "a"), .reserve(orderID: "c", quantity: 1), .reserve(orderID: "d", quantity: 1),
            .release(orderID: "c"), .reserve(orderID: "e", quantity: 1), .commit(orderID: "e"),
        ]
        var state = decider.initialState
        for command in commands {
            let events = try decider.decide(command, state)
            state = decider.fold(events, from: state)
            #expect(state.available >= 0, "after \(command)")
            #expect(state.onHand >= 0, "after \(command)")
        }
        #expect(state.onHand == 0)
        #expect(state.available == 0)
        #expect(Set(state.settledOrders.ordered) == ["a", "b", "c", "d", "e"])
    }

    @Test("a SKU remembers only its most recent settled orders: its state stays bounded, and a forgotten order can be reserved again")
    func settledOrdersBounded() throws {
        let decider = Stock.decider(sku: "PEN")
        var state = decider.fold([.restocked(StockRestocked(sku: "PEN", quantity: 1))], from: decider.initialState)
        for n in 0..<5_000 {
            let orderID = "o-\(n)"
            for command in [StockCommand.reserve(orderID: orderID, quantity: 1), .release(orderID: orderID)] {
                state = decider.fold(try decider.decide(command, state), from: state)
            }
        }
        #expect(state.settledOrders.count <= RecentOrders.capacity)
        #expect(state.settledOrders.count >= RecentOrders.capacity * 9 / 10)
        #expect(try decider.decide(.reserve(orderID: "o-4999", quantity: 1), state).isEmpty, "a recent order stays settled")
        #expect(
            try decider.decide(.reserve(orderID: "o-0", quantity: 1), state) == [.reserved(StockReserved(sku: "PEN", orderId: "o-0", quantity: 1))],
            "a forgotten one is reserved (the saga that let go of it releases it again)")
    }

    @Test("settled orders encode as a JSON array, oldest first, and decode from the unbounded set's snapshots")
    func settledOrdersCoding() throws {
        var orders = RecentOrders()
        for id in ["b", "a", "c"] { orders.insert(id) }
        let data = try JSONEncoder().encode(orders)
        #expect(String(decoding: data, as: UTF8.self) == #"["b","a","c"]"#)
        #expect(try JSONDecoder().decode(RecentOrders.self, from: data) == orders)
        let old = try JSONDecoder().decode(StockState.self, from: Data(#"{"onHand":3,"reservations":{},"settledOrders":["x","y"]}"#.utf8))
        #expect(old.settledOrders.contains("x") && old.settledOrders.contains("y") && !old.settledOrders.contains("z"))
    }
}
