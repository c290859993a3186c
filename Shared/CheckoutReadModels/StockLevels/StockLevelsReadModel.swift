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
                ])
        ])
}
