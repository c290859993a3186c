public import Projections
import ServiceSupport

extension CheckoutReadModels {
    /// Stock per SKU.
    public static let stockLevels = ReadModel(
        StockLevelsProjection(),
        migrations: [
            Migration(
                version: 1, name: "stock levels",
                statements: [
                    """
                    CREATE TABLE IF NOT EXISTS read_models.stock_levels (
                        sku text PRIMARY KEY, on_hand bigint NOT NULL DEFAULT 0, reserved bigint NOT NULL DEFAULT 0,
                        updated_at timestamptz NOT NULL DEFAULT now())
                    """
                ]),
            Migration(
                version: 2, name: "times from the event store, to the microsecond",
                statements: [
                    // Updated: the SKU stream's last event applied.
                    StoreTimeRepair.whereTheStoreIs([
                        """
                        UPDATE read_models.stock_levels s SET updated_at = e.recorded_at
                        FROM read_models.stream_positions p, event_store.events e
                        WHERE p.projection = 'stock-levels' AND p.stream_id = 'stock-' || s.sku
                          AND e.stream_id = p.stream_id AND e.stream_version = p.version AND s.updated_at <> e.recorded_at
                        """
                    ])
                ]),
        ])
}
