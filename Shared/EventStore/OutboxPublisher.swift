package import Foundation
package import Kafka
package import Logging
import Metrics
import ServiceSupport
package import PostgresNIO
import Tracing

/// One outbox row, ready to send.
package struct OutboxMessage: Sendable {
    package var position: Int64
    /// The sequencing key (a stream): rows of one key are published by position.
    package var key: String
    package var message: KafkaOutgoingMessage
    /// When the row's transaction wrote it (PostgreSQL's clock): the publish delay starts there.
    package var writtenAt: Date

    package init(position: Int64, key: String, message: KafkaOutgoingMessage, writtenAt: Date) {
        self.position = position
        self.key = key
        self.message = message
        self.writtenAt = writtenAt
    }
}

/// How a relay publishes (the event relay's `OutboxRelay.Configuration`).
public struct OutboxSettings: Sendable {
    public var batchSize = 5_000
    /// How often an idle relay looks for rows: those committed by other processes (this
    /// process's own commits ring its `OutboxDoorbell` at once).
    public var idleInterval: Duration = .milliseconds(200)
    /// Published rows older than this are deleted.
    public var retention: Duration = .seconds(3_600)
    public var pruneInterval: Duration = .seconds(60)
    /// How often a standby instance tries to take over.
    public var standbyInterval: Duration = .seconds(1)
    /// How long the leader's lease lasts without a renewal (it renews before every send and
    /// mark, at least every `idleInterval`): a paused leader is replaced within this plus
    /// `standbyInterval`. A send that takes longer (a broker outage) loses the lead too; the
    /// standby that takes over publishes those rows again (at least once).
    public var leaseDuration: Duration = .seconds(10)

    public init() {}
}

/// An outbox a relay publishes: the event store's (events) or the sagas' (commands).
package protocol OutboxSource: Sendable {
    /// Who leads, for the log ("outbox relay").
    var role: String { get }
    /// The table of the lease that elects one publisher among the instances (`LeaseLeadership`).
    var leaseTable: String { get }
    /// The metrics' name prefix (`<prefix>_published_total`, ...).
    var metricPrefix: String { get }
    /// The name of the outbox's `OutboxDoorbell`, rung after a transaction commits rows.
    var channel: String { get }
    /// Unpublished rows by position.
    func pending(limit: Int, on connection: RelayConnection) async throws -> [OutboxMessage]
    /// Marks rows the broker acknowledged; `landed` holds where each went (same sequence).
    func markPublished(_ positions: [Int64], landed: [KafkaDeliveryReport], on connection: RelayConnection) async throws
    /// Deletes published rows older than `retention`.
    func prune(olderThan retention: Duration, on connection: RelayConnection) async throws
}

/// The relay loop both outboxes share: one leader (a fenced lease, `LeaseLeadership`), woken by its doorbell when
/// a transaction of this process commits outbox rows (or by the idle interval, for other processes' rows), reads pending
/// rows by position, sends them, and marks only what the broker acknowledged, per key up to the key's
/// first failure, so a key's later row is never marked ahead of an earlier one that failed
/// (at-least-once, in sequence per key). A relay never skips a row that committed late with a
/// lower position: it selects unpublished rows, not rows above a cursor.
package struct OutboxPublisher<Source: OutboxSource>: Sendable {
    package typealias Settings = OutboxSettings

    let source: Source
    let client: PostgresClient
    let producer: KafkaProducer
    let settings: Settings
    let logger: Logger
    /// Who leads; `isLeading` tells whether this instance does.
    package let leadership: LeaseLeadership
    /// Tests only: runs after a round read its rows, before the lease is renewed for the send
    /// (where a paused leader would stop).
    let beforeSend: (@Sendable () async -> Void)?
    private let published: Counter
    private let failures: Counter
    private let overtaken: Counter
    /// From a row's transaction to the broker's acknowledgement (`<prefix>_publish_delay_seconds`).
    private let delay: Metrics.Timer
    /// A round's send, from the first record handed to the producer to the last acknowledgement.
    private let roundLatency: Metrics.Timer

    package init(
        source: Source, client: PostgresClient, producer: KafkaProducer, settings: Settings, logger: Logger,
        beforeSend: (@Sendable () async -> Void)? = nil
    ) {
        self.source = source
        self.beforeSend = beforeSend
        leadership = LeaseLeadership(
            client: client, table: source.leaseTable, role: source.role, duration: settings.leaseDuration,
            standbyInterval: settings.standbyInterval, logger: logger)
        self.client = client
        self.producer = producer
        self.settings = settings
        self.logger = logger
        published = Counter(label: "\(source.metricPrefix)_published_total")
        failures = Counter(label: "\(source.metricPrefix)_publish_failures_total")
        overtaken = Counter(label: "\(source.metricPrefix)_keys_overtaken_total")
        delay = Metrics.Timer(label: "\(source.metricPrefix)_publish_delay_seconds")
        roundLatency = Metrics.Timer(label: "\(source.metricPrefix)_publish_round_seconds")
    }

    /// Publishes while leading, until cancelled.
    package func run() async {
        await leadership.run { connection in
            try await OutboxDoorbell.named(source.channel).listening(orEvery: settings.idleInterval) { wakeups in
                var wakeup = wakeups.makeAsyncIterator()
                var lastPrune = ContinuousClock.now - settings.pruneInterval
                while !Task.isCancelled {
                    let count = try await publishBatch(on: connection)
                    if ContinuousClock.now - lastPrune >= settings.pruneInterval {
                        try await source.prune(olderThan: settings.retention, on: connection)
                        lastPrune = .now
                    }
                    // A full batch means more is waiting; otherwise sleep until rows commit.
                    if count < settings.batchSize { await wakeup.next() }
                }
            }
        }
    }

    /// One round: read, send, mark what was acknowledged. Returns how many rows it read.
    package func publishBatch(on connection: RelayConnection) async throws -> Int {
        let rows = try await source.pending(limit: settings.batchSize, on: connection)
        guard !rows.isEmpty else {
            // Idle rounds renew the lease too, so an idle leader keeps it.
            try await leadership.confirm(on: connection)
            return 0
        }
        await beforeSend?()
        // One span per round, linked to the traces of the rows it sends (each row's record
        // carries its own trace onwards).
        let span = startSpan("\(source.role) publish", context: .topLevel, ofKind: .producer)
        defer { span.end() }
        span.updateAttributes { $0["messaging.batch.message_count"] = rows.count }
        if TraceHeaders.isTracing { TraceHeaders.link(span, to: rows.lazy.map { TraceHeaders.context(from: $0.message.headers) }) }
        // Only the lease's holder sends: a leader paused past its lease stops here.
        try await leadership.confirm(on: connection)
        let sending = ContinuousClock.now
        let results = await producer.send(rows.map(\.message))
        roundLatency.record(duration: .now - sending)
        let acknowledgedAt = Date()
        for (row, result) in zip(rows, results) where (try? result.get()) != nil {
            delay.recordNanoseconds(Int64(max(0, acknowledgedAt.timeIntervalSince(row.writtenAt)) * 1e9))
        }
        let keyed = rows.map { (key: $0.key, position: $0.position) }
        let acknowledged = Self.acknowledgedInOrder(keyed, results: results)
        CrashPoint.reach(CrashPoint.outboxAfterPublish)
        let overtakenKeys = Self.overtakenKeys(keyed, results: results)
        if !overtakenKeys.isEmpty {
            // A later row reached Kafka ahead of an earlier one that failed (a delivery timeout
            // can leave such a gap). It stays unmarked and is sent again after the earlier one;
            // consumers hold back or fill what arrives ahead of a gap (see the architecture doc).
            overtaken.increment(by: overtakenKeys.count)
            logger.warning("rows reached Kafka ahead of an earlier row of their key; copies follow in sequence", metadata: ["keys": "\(overtakenKeys.prefix(5))"])
        }
        if !acknowledged.isEmpty {
            var reports: [Int64: KafkaDeliveryReport] = [:]
            for (row, result) in zip(rows, results) { if case .success(let report) = result { reports[row.position] = report } }
            let landed = acknowledged.compactMap { reports[$0] }
            try await leadership.fenced(on: connection) { try await source.markPublished(acknowledged, landed: landed, on: $0) }
            published.increment(by: acknowledged.count)
        }
        if acknowledged.count < rows.count {
            let failure = results.lazy.compactMap { if case .failure(let error) = $0 { error } else { nil } }.first
            failures.increment(by: rows.count - acknowledged.count)
            logger.warning(
                "\(source.role): rows not acknowledged; they will be published again",
                metadata: ["count": "\(rows.count - acknowledged.count)", "error": "\(failure.map { "\($0)" } ?? "")"])
            try await Task.sleep(for: .milliseconds(500))
        }
        return rows.count
    }

    /// Positions safe to mark: per key, every row before the key's first failure.
    package static func acknowledgedInOrder(
        _ rows: [(key: String, position: Int64)], results: [Result<KafkaDeliveryReport, KafkaError>]
    ) -> [Int64] {
        var blockedKeys: Set<String> = []
        var positions: [Int64] = []
        for (row, result) in zip(rows, results) {
            guard !blockedKeys.contains(row.key) else { continue }
            switch result {
            case .success: positions.append(row.position)
            case .failure: blockedKeys.insert(row.key)
            }
        }
        return positions
    }

    /// Keys whose earlier row failed while a later one of the same send was acknowledged.
    package static func overtakenKeys(_ rows: [(key: String, position: Int64)], results: [Result<KafkaDeliveryReport, KafkaError>]) -> [String] {
        var failed: Set<String> = []
        var overtaken: [String] = []
        for (row, result) in zip(rows, results) {
            switch result {
            case .failure: failed.insert(row.key)
            case .success where failed.contains(row.key) && !overtaken.contains(row.key): overtaken.append(row.key)
            case .success: break
            }
        }
        return overtaken
    }
}
