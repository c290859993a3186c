/// Read-model migrations that set a row's times to the event store's, to the microsecond.
/// Versions before issue 22 projected events whose records carried only `ce_time` (to the
/// millisecond), so their rows differed from a rebuild's; today's projector takes such times
/// from the store (`PartitionBatchWriter.withStoredTimes`), and these repair the rows written
/// before an upgrade. A row whose time is already exact is left alone; a database without an
/// event store (a projection service that started first on a new one) or without stream
/// positions yet (a read model migrated alone) has nothing to repair.
enum StoreTimeRepair {
    /// `statements`, run only where `event_store.events` and `read_models.stream_positions` exist.
    static func whereTheStoreIs(_ statements: [String]) -> String {
        """
        DO $$ BEGIN
            IF to_regclass('event_store.events') IS NOT NULL AND to_regclass('read_models.stream_positions') IS NOT NULL THEN
                \(statements.joined(separator: ";\n        "));
            END IF;
        END $$
        """
    }
}
