import ConsumerRuntime
import EventSourcing
import EventStore
import Foundation
import Instrumentation
import Kafka
import Logging
import Metrics
import ServiceLifecycle
import ServiceSupport

/// Executes the commands on the contexts' command topics (`<context>.commands`, sent by sagas
/// and process managers) with the same handlers and the same idempotency as HTTP (the command
/// id is the idempotency key), as a handler on the consumer runtime: commands of one stream
/// (the record key) run in sequence, different streams of a batch concurrently.
/// Offsets are committed only after every command of the batch is done, so a crash redelivers,
/// and the command log makes that harmless.
struct CommandChannelConsumer: Service, ConsumerGroupMember {
    let runtime: ConsumerRuntime<CommandBatchHandler>
    var status: ConsumerStatus { runtime.status }
    var groupID: String { runtime.groupID }

    /// `channels`: each command topic's reader.
    init(
        channels: [String: @Sendable ([UInt8]) throws -> ChannelCommand], group: String, deadLetterTopic: String,
        configuration: ServiceConfiguration, producer: KafkaProducer, logger: Logger
    ) {
        var runtimeConfiguration = ConsumerRuntime<CommandBatchHandler>.Configuration(
            groupID: group, topics: channels.keys.sorted(), instanceID: configuration.instanceID,
            bootstrapServers: configuration.kafkaBrokers)
        // Commands must never be skipped: a new group starts at the earliest retained command.
        runtimeConfiguration.kafkaOverrides = ["auto.offset.reset": "earliest"]
        runtimeConfiguration.maxBatch = 1_000
        runtime = ConsumerRuntime(
            configuration: runtimeConfiguration,
            handler: CommandBatchHandler(channels: channels, group: group, deadLetterTopic: deadLetterTopic, producer: producer, logger: logger),
            logger: logger)
    }

    func run() async throws { try await runtime.run() }
}

/// A command record as read: the message, or why it is not one.
enum DecodedCommand: Sendable {
    case command(ChannelCommand)
    case unreadable(String)
}

struct CommandBatchHandler: BatchHandler {
    let channels: [String: @Sendable ([UInt8]) throws -> ChannelCommand]
    let group: String
    let deadLetterTopic: String
    let producer: KafkaProducer
    let logger: Logger
    private let executed = Counter(label: "commands_executed_total")
    private let rejected = Counter(label: "commands_rejected_total")
    private let deadLettered = Counter(label: "commands_dead_lettered_total")

    var commits: CommitMode { .kafkaOffsets }

    func decode(_ record: KafkaConsumedMessage) -> DecodedCommand {
        guard let channel = channels[record.topic] else { return .unreadable("no context reads commands from \(record.topic)") }
        do {
            return .command(try channel(record.value))
        } catch {
            return .unreadable("unreadable command: \(error)")
        }
    }

    func handle(_ batch: [Delivery<DecodedCommand>], of partition: KafkaTopicPartition) async throws -> BatchOutcome {
        var byStream: [String: [Delivery<DecodedCommand>]] = [:]
        for delivery in batch { byStream[delivery.record.keyString ?? "", default: []].append(delivery) }
        let finished = await withTaskGroup(of: Bool.self) { group in
            for deliveries in byStream.values {
                group.addTask {
                    for delivery in deliveries where !(await execute(delivery)) { return false }
                    return true
                }
            }
            return await group.reduce(true) { $0 && $1 }
        }
        // Stopped mid-batch: leave the offsets for the next owner, which runs the rest.
        guard finished else { throw CancellationError() }
        return .handled
    }

    /// Runs one command until it is done (true), or until the member stops (false). Rule
    /// violations are final (logged, not retried); infrastructure failures are retried with
    /// backoff, never skipped; a command that can never succeed (unreadable, over the store's
    /// limits, refused by PostgreSQL for its data, or on a stream with an unreadable event) goes
    /// to the dead-letter topic with the reason, so it does not hold its partition forever.
    private func execute(_ delivery: Delivery<DecodedCommand>) async -> Bool {
        let command: ChannelCommand
        switch delivery.item {
        case .command(let decoded): command = decoded
        case .unreadable(let reason):
            await deadLetter(delivery.record, reason: reason)
            return true
        }
        let record = delivery.record
        // Header values reach every log line: only printable ones no longer than an event's.
        func printable(_ value: String?) -> String? {
            value.flatMap { EnvelopeText.check(Array($0.utf8), maxBytes: PostgresEventStore.Limits.maxTraceIDBytes) == nil ? $0 : nil }
        }
        // In the record's span (continuing the saga step's trace), so the command's events
        // store that trace and carry it on.
        return await InstrumentationContext.withValue(delivery.trace) {
            await MessageContext(
                correlationID: printable(command.correlationID) ?? printable(record.headers.string("correlation-id")),
                causationID: printable(record.headers.string("causation-id")),
                commandID: printable(command.id), streamID: printable(record.keyString)
            ).run { await execute(command, from: record) }
        }
    }

    private func execute(_ command: ChannelCommand, from record: KafkaConsumedMessage) async -> Bool {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                try await command.run()
                executed.increment()
                logger.info("command executed", metadata: ["type": "\(command.type)"])
                return true
            } catch .rejected(let rule) {
                rejected.increment()
                logger.warning(
                    "command rejected", metadata: ["type": "\(command.type)", "reason": "\(rule)"])
                return true
            } catch let error where Self.isPermanent(error) {
                await deadLetter(record, reason: "command \(command.id.prefix(120)) cannot succeed: \(error)")
                return true
            } catch {
                logger.error("command failed; retrying", metadata: ["type": "\(command.type)", "error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
        return false
    }

    static func isPermanent(_ error: CommandError) -> Bool {
        switch error {
        case .store(let store): store.isPermanent
        case .codec: true
        case .rejected, .conflict: false
        }
    }

    private func deadLetter(_ record: KafkaConsumedMessage, reason: String) async {
        deadLettered.increment()
        logger.error("command dead-lettered", metadata: ["partition": "\(record.partition)", "offset": "\(record.offset)", "reason": "\(reason)"])
        await DeadLetterMessage.deliver(DeadLetterMessage.make(from: record, reason: reason, processor: group, topic: deadLetterTopic), with: producer)
    }
}
