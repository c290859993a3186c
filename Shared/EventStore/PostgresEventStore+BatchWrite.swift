import EventSourcing
import Foundation
import Logging
import PostgresNIO
import ServiceSupport

extension PostgresEventStore {
    /// Writes a batch of appends (distinct streams, distinct command ids) in one call (see
    /// `AppendBatchFunction`). An append whose version check fails gets its own conflict; the
    /// others commit.
    ///
    /// When PostgreSQL refuses a statement of the batch (its data, not the connection), each
    /// append is written again on its own, so that the refused one fails alone and the others
    /// commit. Not after a lost connection or a failed commit: the batch may have committed, and
    /// writing its appends again could append them twice.
    static func writeBatch(
        _ batch: [AppendBatcher.Request], client: PostgresClient, logger: Logger
    ) async -> [Result<AppendOutcome, EventStoreError>] {
        let (results, refused) = await writeTransaction(batch, client: client, logger: logger)
        defer { OutboxDoorbell.named(OutboxRelay.channel).ring() }
        guard batch.count > 1, refused else { return results }
        logger.warning("append batch failed; writing its appends one by one", metadata: ["appends": "\(batch.count)"])
        var individual: [Result<AppendOutcome, EventStoreError>] = []
        for request in batch {
            individual.append(
                await writeTransaction([request], client: client, logger: logger).results.first
                    ?? .failure(EventStoreError(code: .database, reason: "no result")))
        }
        return individual
    }

    /// The batch in one call of `event_store.append_batch` (one statement, its own transaction);
    /// `refused` when the server refused it (then nothing of it was written).
    private static func writeTransaction(
        _ batch: [AppendBatcher.Request], client: PostgresClient, logger: Logger
    ) async -> (results: [Result<AppendOutcome, EventStoreError>], refused: Bool) {
        let call = AppendBatchCall(batch)
        var attempt = 0
        while true {
            attempt += 1
            do {
                return (try call.results(from: try await client.liveQuery(call.query, logger: logger)), false)
            } catch let error as EventStoreError {
                return (batch.map { _ in .failure(error) }, false)
            } catch {
                // Deadlock or serialization failure with a writer outside the batcher: try again.
                let state = DatabaseErrors.sqlState(of: error)
                if attempt < 3, state == "40P01" || state == "40001" { continue }
                let failure = EventStoreError.database(error, stream: batch.count == 1 ? batch.first?.stream : nil)
                return (batch.map { _ in .failure(failure) }, DatabaseErrors.isRefusedStatement(error))
            }
        }
    }
}
