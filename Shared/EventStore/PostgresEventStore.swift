public import EventSourcing
public import ServiceSupport
public import Foundation
public import Logging
public import PostgresNIO

/// The event store on PostgreSQL: appends with optimistic concurrency, writing the outbox rows
/// (and the command-log row, for idempotency) in the same transaction; stream reads forward, up
/// to a version or up to a point in time; the global log without skipping uncommitted gaps.
public final class PostgresEventStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    let topicForStreamType: @Sendable (String) -> String
    private let batcher: AppendBatcher

    /// `topicForStreamType` names the Kafka topic of each stream type (the outbox's target).
    public init(client: PostgresClient, logger: Logger, topicForStreamType: @escaping @Sendable (String) -> String) {
        self.client = client
        self.logger = logger
        self.topicForStreamType = topicForStreamType
        self.batcher = AppendBatcher { batch in await Self.writeBatch(batch, client: client, logger: logger) }
    }

    /// Appends queued for group commit, not yet taken into a batch.
    package var queuedAppends: Int { batcher.queued }

    public func migrate(roles: ServiceRoles) async throws {
        try await EventStoreSchema.migrator(roles: roles).run(on: client, logger: logger)
    }

    /// Appends `events` to `stream` if it is at `expected`; with `command`, records the command
    /// id in the same transaction so that a repeated id returns the first result and appends
    /// nothing.
    ///
    /// Every append goes through group commit with a version check; `.any` reads the stream's
    /// version and appends at it, reading again when another writer got there first. (A
    /// transaction that appends without a version check could take its positions before it
    /// waits for the stream's row, and so write a later version at a lower position.)
    public func append(
        to stream: StreamName, expected: ExpectedVersion, events: [NewEvent], command: CommandRecord? = nil
    ) async throws(EventStoreError) -> AppendOutcome {
        let streamID = stream.description
        // Checked before the append joins a batch: input PostgreSQL or Kafka would refuse must
        // fail this append alone, never the batch it would have shared.
        try Limits.check(stream: streamID, events: events, command: command)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let rows = events.map { event in
            NewEventRow(event: event, metadataJSON: (try? encoder.encode(event.metadata)).map { String(decoding: $0, as: UTF8.self) } ?? "{}")
        }
        var attempts = 0
        while true {
            attempts += 1
            let versionRead: Int64
            switch expected {
            case .noStream: versionRead = 0
            case .exact(let version): versionRead = version
            case .any: versionRead = try await version(of: streamID) ?? 0
            }
            let outcome = await batcher.submit(
                stream: streamID, category: stream.category, topic: topicForStreamType(stream.category), expected: versionRead, events: rows,
                command: command)
            if case .any = expected, case .failure(let error) = outcome, error.code == .wrongExpectedVersion, attempts < 50 { continue }
            return try outcome.get()
        }
    }

    /// The advisory lock `event_store.reserve_positions` took in migration 2 (migration 8 takes a
    /// table lock only the command role can take instead): positions are
    /// handed out in transaction-id sequence, which is what makes `readAll`'s "older than every
    /// running transaction" rule gap-safe.
    static let positionLockKey: Int64 = 0x504F_5349_5449_4F4E  // "POSITION"
}

/// A command's id and the response to store with it for repeats.
public struct CommandRecord: Sendable {
    public var id: String
    /// A digest of the request the id stands for (an HTTP Idempotency-Key's body): the same id
    /// with a different request is refused (`commandIDReused`) instead of answered with the
    /// first request's result. Nil where the id alone identifies the command (saga commands).
    public var requestHash: String?
    /// The response a repeat gets. It is stored by the same call that appends, so it can say
    /// only what is known before that call: the stream and its version after the append.
    public var result: @Sendable (AppendedVersion) -> [UInt8]

    public init(id: String, requestHash: String? = nil, result: @escaping @Sendable (AppendedVersion) -> [UInt8]) {
        self.id = id
        self.requestHash = requestHash
        self.result = result
    }

    func checkSameRequest(storedHash: String?) throws(EventStoreError) {
        guard let requestHash, let storedHash, requestHash != storedHash else { return }
        throw EventStoreError(
            code: .commandIDReused, reason: "command id \(id) was already used for a different request")
    }
}

/// A stream and its version once an append is written.
public struct AppendedVersion: Sendable {
    public var streamID: String
    public var nextExpectedVersion: Int64
}

public enum AppendOutcome: Sendable {
    case appended(AppendResult)
    /// The command id was seen before: nothing was appended; the first result is returned.
    case duplicateCommand(storedResult: [UInt8])
}

public struct AppendResult: Sendable {
    public var streamID: String
    /// The stream's version after the append: the expected version for the next one.
    public var nextExpectedVersion: Int64
    public var events: [AppendedEvent]
}

public struct AppendedEvent: Sendable {
    public var streamVersion: Int64
    public var globalPosition: Int64
    public var recordedAt: Date
}
