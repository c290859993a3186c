import Foundation

/// A batch's changes to order rows, folded per order in event order: orders placed in the batch
/// become inserts carrying their final status; orders placed earlier get one status update each.
/// Shared by the order summary and the customer projection, which both keep a row per order.
struct OrderRows {
    struct Placed {
        var orderID: String
        var customerID: String
        var status: String
        var lines: String
        var totalCents: Int64
        var paymentMethod: String
        var cancellationReason: String?
        var placedAt: Date
        var updatedAt: Date
        var correlationID: String
    }

    struct StatusChange {
        var status: String
        var cancellationReason: String?
        var updatedAt: Date
    }

    private(set) var placed: [String: Placed] = [:]
    private(set) var changes: [String: StatusChange] = [:]

    mutating func place(_ row: Placed) { placed[row.orderID] = row }

    mutating func change(_ orderID: String, to status: String, reason: String? = nil, at time: Date) {
        if var row = placed[orderID] {
            row.status = status
            row.cancellationReason = reason ?? row.cancellationReason
            row.updatedAt = time
            placed[orderID] = row
        } else {
            let earlier = changes[orderID]?.cancellationReason
            changes[orderID] = StatusChange(status: status, cancellationReason: reason ?? earlier, updatedAt: time)
        }
    }

    /// Inserts in order id order (a stable lock order across concurrent batches).
    var inserts: [Placed] { placed.keys.sorted().compactMap { placed[$0] } }
    var updates: [(orderID: String, change: StatusChange)] { changes.keys.sorted().compactMap { id in changes[id].map { (id, $0) } } }
}
