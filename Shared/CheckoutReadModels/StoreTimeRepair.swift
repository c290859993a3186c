/// Read-model migrations that set a row's times to the event store's, to the microsecond.
/// Versions before issue 22 projected events whose records carried only `ce_time` (to the
/// millisecond), so their rows differed from a rebuild's; today's projector takes such times
/// from the store (`PartitionBatchWriter.withStoredTimes`), and these repair the rows written
/// before an upgrade. A row whose time is already exact is left alone; a database without an
/// event store (a projection service that started first on a new one) has nothing to repair.
enum StoreTimeRepair {
    /// `statements`, run only where `event_store.events` exists.
    static func whereTheStoreIs(_ statements: [String]) -> String {
        """
        DO $$ BEGIN
            IF to_regclass('event_store.events') IS NOT NULL THEN
                \(statements.joined(separator: ";\n        "));
            END IF;
        END $$
        """
    }
}
