public import Projections
import ServiceSupport

/// Returns' read models: what each order bought (for the rules of a return) and each return.
public enum ReturnsReadModels {
    public static let purchases = ReadModel(
        ReturnPurchasesProjection(),
        migrations: [
            Migration(
                version: 1, name: "what each order bought, and when its checkout completed",
                statements: [
                    "CREATE TABLE IF NOT EXISTS read_models.return_purchases (order_id text PRIMARY KEY, lines jsonb NOT NULL, completed_at timestamptz)"
                ])
        ])

    public static let returns = ReadModel(
        ReturnsViewProjection(),
        migrations: [
            Migration(
                version: 1, name: "returns",
                statements: [
                    """
                    CREATE TABLE IF NOT EXISTS read_models.returns (
                        return_id text PRIMARY KEY, order_id text NOT NULL, status text NOT NULL, lines jsonb NOT NULL,
                        amount_cents bigint NOT NULL, refunded_cents bigint NOT NULL DEFAULT 0, reason text NOT NULL,
                        requested_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, timeline jsonb NOT NULL)
                    """,
                    "CREATE INDEX IF NOT EXISTS returns_by_order ON read_models.returns (order_id)",
                ])
        ])

    public static let all = [purchases, returns]
}
