import PostgresNIO

extension PostgresEventStore {
    /// The stored result of `record`'s command id, or nil when the id was never recorded; an
    /// id recorded for a different request is `commandIDReused`. For a decision that appends
    /// nothing (refused, or already satisfied): a repeat of a command that appended before is
    /// answered from the log, not decided again on a stream it has since changed.
    public func storedResult(of record: CommandRecord) async throws(EventStoreError) -> [UInt8]? {
        let row: PostgresRow?
        do {
            row = try await client.liveQuery(
                "SELECT result::text, request_hash FROM event_store.command_log WHERE command_id = \(record.id)", logger: logger
            ).first
        } catch {
            throw .database(error)
        }
        guard let row else { return nil }
        let (result, storedHash): (String?, String?)
        do {
            (result, storedHash) = try row.decode((String?, String?).self)
        } catch {
            throw .database(error)
        }
        try record.checkSameRequest(storedHash: storedHash)
        return Array((result ?? "{}").utf8)
    }
}
