import EventSourcing
import SuiteTesting

extension TestEvents {
    /// `count` StockRestocked events on `stock-<sku>` with quantities 1...count (sum count·(count+1)/2).
    static func restocks(sku: String, count: Int) -> [RecordedEvent] {
        (1...count).map { version in
            record(
                stream: "stock-\(sku)", streamType: "stock", version: Int64(version), type: "StockRestocked",
                payload: "{\"sku\":\"\(sku)\",\"quantity\":\(version)}")
        }
    }
}
