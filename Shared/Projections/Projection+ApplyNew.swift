public import EventSourcing
public import Logging
public import PostgresNIO

extension Projection {
    /// Applies the events this projection has not applied yet, with one call to `apply`, and
    /// records their streams' positions: what the runtime does with a batch, without Kafka and
    /// checkpoints. Call it inside a transaction. For tests (`ProjectionSpecification`) and
    /// tools; returns the number of events applied.
    @discardableResult
    public func applyNew(_ events: [RecordedEvent], on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let mine = events.filter { eventTypes.contains($0.type) }
        guard !mine.isEmpty else { return 0 }
        var state = try await BatchState.load(
            streams: Array(Set(mine.map(\.streamID))), projections: [name], on: connection, logger: logger)
        var fresh: [RecordedEvent] = []
        for event in mine {
            let key = StreamKey(projection: name, stream: event.streamID)
            guard event.streamVersion > state.positions[key] ?? 0 else { continue }
            state.positions[key] = event.streamVersion
            state.changedPositions.insert(key)
            fresh.append(event)
        }
        guard !fresh.isEmpty else { return 0 }
        try await apply(fresh, to: ProjectionTarget(connection: connection, logger: logger))
        try await state.savePositions(on: connection, logger: logger)
        return fresh.count
    }
}
