import EventSourcing
import Foundation
import PostgresNIO

/// One batch of appends as the arguments of `event_store.append_batch`, and its rows read back
/// as one outcome per append.
struct AppendBatchCall {
    private let batch: [AppendBatcher.Request]
    let query: PostgresQuery

    init(_ batch: [AppendBatcher.Request]) {
        self.batch = batch
        var streams: [String] = []
        var streamTypes: [String] = []
        var topics: [String] = []
        var expected: [Int64] = []
        var counts: [Int64] = []
        var commands: [String] = []
        var hashes: [String] = []
        var results: [String] = []
        var eventAppends: [Int32] = []
        var ids: [UUID] = []
        var types: [String] = []
        var schemas: [Int32] = []
        var payloads: [String] = []
        var metadata: [String] = []
        var correlations: [String] = []
        var causations: [String] = []
        for (index, request) in batch.enumerated() {
            streams.append(request.stream)
            streamTypes.append(request.category)
            topics.append(request.topic)
            expected.append(request.expected)
            counts.append(Int64(request.events.count))
            commands.append(request.command?.id ?? "")
            hashes.append(request.command?.requestHash ?? "")
            let next = AppendedVersion(streamID: request.stream, nextExpectedVersion: request.expected + Int64(request.events.count))
            results.append(request.command.map { String(decoding: $0.result(next), as: UTF8.self) } ?? "")
            for row in request.events {
                eventAppends.append(Int32(index + 1))
                ids.append(row.event.eventID)
                types.append(row.event.encoded.type)
                schemas.append(Int32(row.event.encoded.schemaVersion))
                payloads.append(String(decoding: row.event.encoded.payload, as: UTF8.self))
                metadata.append(row.metadataJSON)
                correlations.append(row.event.correlationID)
                causations.append(row.event.causationID ?? "")
            }
        }
        query = """
            SELECT r_append, r_outcome, r_version, r_position, r_recorded_at, r_stored_result, r_stored_hash
            FROM event_store.append_batch(
                \(streams), \(streamTypes), \(topics), \(expected), \(counts), \(commands), \(hashes), \(results),
                \(eventAppends), \(ids), \(types), \(schemas), \(payloads), \(metadata), \(correlations), \(causations))
            """
    }

    /// One outcome per append, in the batch's sequence.
    func results(from rows: [PostgresRow]) throws -> [Result<AppendOutcome, EventStoreError>] {
        var outcomes = [Result<AppendOutcome, EventStoreError>?](repeating: nil, count: batch.count)
        var appended = [[AppendedEvent]](repeating: [], count: batch.count)
        for row in rows {
            let (number, outcome, version, position, recordedAt, storedResult, storedHash) = try row.decode(
                (Int32, String, Int64?, Int64?, Date?, String?, String?).self)
            let index = Int(number) - 1
            guard batch.indices.contains(index) else {
                throw EventStoreError(code: .database, reason: "append_batch answered for append \(number) of \(batch.count)")
            }
            let request = batch[index]
            switch outcome {
            case "duplicate":
                guard let command = request.command else { continue }
                do {
                    try command.checkSameRequest(storedHash: storedHash)
                    outcomes[index] = .success(.duplicateCommand(storedResult: Array((storedResult ?? "{}").utf8)))
                } catch {
                    outcomes[index] = .failure(error)
                }
            case "conflict":
                outcomes[index] = .failure(
                    .wrongExpectedVersion(
                        stream: request.stream, expected: request.expected == 0 ? "no stream" : "\(request.expected)",
                        actual: version ?? 0))
            case "appended":
                guard let version, let position, let recordedAt else {
                    throw EventStoreError(code: .database, reason: "append_batch returned an event without its position")
                }
                appended[index].append(AppendedEvent(streamVersion: version, globalPosition: position, recordedAt: recordedAt))
            default:
                throw EventStoreError(code: .database, reason: "append_batch returned an unknown outcome \(outcome)")
            }
        }
        return batch.indices.map { index in
            if let outcome = outcomes[index] { return outcome }
            let request = batch[index]
            let events = appended[index].sorted { $0.streamVersion < $1.streamVersion }
            guard events.count == request.events.count else {
                return .failure(
                    EventStoreError(
                        code: .database, reason: "append_batch wrote \(events.count) of \(request.events.count) events to \(request.stream)"))
            }
            return .success(
                .appended(
                    AppendResult(
                        streamID: request.stream, nextExpectedVersion: request.expected + Int64(request.events.count), events: events)))
        }
    }
}
