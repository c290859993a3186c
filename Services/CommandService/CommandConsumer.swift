import Checkout
import EventSourcing
import EventStore
import Foundation
import Kafka
import Logging
import Metrics
import ServiceLifecycle
import ServiceSupport

/// Executes the saga's commands from `checkout.commands` with the same handlers and the same
/// idempotency as HTTP (the command id is the idempotency key). Commands of one stream run in
/// order; different streams of a batch run concurrently. Offsets are committed only after every
/// command of the batch is done, so a crash redelivers, and the command log makes that harmless.
struct CommandConsumer: Service {
    let commands: CheckoutCommands
    let configuration: ServiceConfiguration
    let producer: KafkaProducer
    let logger: Logger
    private let executed = Counter(label: "commands_executed_total")
    private let rejected = Counter(label: "commands_rejected_total")
    private let deadLettered = Counter(label: "commands_dead_lettered_total")

    init(commands: CheckoutCommands, configuration: ServiceConfiguration, producer: KafkaProducer, logger: Logger) {
        self.commands = commands
        self.configuration = configuration
        self.producer = producer
        self.logger = logger
    }

    func run() async throws {
        // Commands must never be skipped: a new group starts at the earliest retained command.
        let consumer = try KafkaConsumer(
            configuration: .consumer(
                bootstrapServers: configuration.kafkaBrokers, groupID: "command-service",
                overrides: ["auto.offset.reset": "earliest", "client.id": configuration.instanceID]),
            topics: [SuiteTopics.commands], logger: logger)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let batch = try await consumer.poll(maxMessages: 500, timeout: .milliseconds(200))
                    guard !batch.isEmpty else { continue }
                    await execute(batch)
                    // Stopping mid-batch skips commands: leave their offsets for the next owner.
                    guard !Task.isCancelled else { break }
                    var positions: [KafkaTopicPartition: Int64] = [:]
                    for record in batch { positions[record.topicPartition] = max(positions[record.topicPartition] ?? 0, record.offset + 1) }
                    try await consumer.commit(positions)
                } catch {
                    logger.error("command consumer error", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
        }
        await consumer.close()
    }

    private func execute(_ batch: [KafkaConsumedMessage]) async {
        var byStream: [String: [KafkaConsumedMessage]] = [:]
        for record in batch { byStream[record.keyString ?? "", default: []].append(record) }
        await withTaskGroup(of: Void.self) { group in
            for records in byStream.values {
                group.addTask {
                    for record in records { await execute(record) }
                }
            }
        }
    }

    /// Runs one command until it is done. Rule violations are final (logged, not retried);
    /// infrastructure failures are retried with backoff, never skipped; a command that can never
    /// succeed (unreadable, over the store's limits, refused by PostgreSQL for its data, or on
    /// a stream with an unreadable event) goes to the dead-letter topic with the reason, so it
    /// does not hold its partition forever.
    private func execute(_ record: KafkaConsumedMessage) async {
        let message: CheckoutCommandMessage
        do {
            message = try JSONDecoder().decode(CheckoutCommandMessage.self, from: Data(record.value))
        } catch {
            await deadLetter(record, reason: "unreadable command: \(error)")
            return
        }
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                try await CommandDispatcher(commands: commands).execute(message)
                executed.increment()
                return
            } catch .rejected(let rule) {
                rejected.increment()
                logger.warning(
                    "command rejected", metadata: ["commandId": "\(message.commandId)", "type": "\(message.type.rawValue)", "reason": "\(rule)"])
                return
            } catch let error where Self.isPermanent(error) {
                await deadLetter(record, reason: "command \(message.commandId.prefix(120)) cannot succeed: \(error)")
                return
            } catch {
                logger.error("command failed; retrying", metadata: ["commandId": "\(message.commandId)", "error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
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
        await DeadLetterMessage.deliver(DeadLetterMessage.make(from: record, reason: reason, processor: "command-service"), with: producer)
    }
}

/// Routes a command message to its stream's handler.
struct CommandDispatcher {
    let commands: CheckoutCommands

    func execute(_ message: CheckoutCommandMessage) async throws(CommandError) {
        let context = CommandContext(commandID: message.commandId, correlationID: message.correlationId, causationID: message.causationId)
        let orderID = message.orderId
        switch message.type {
        case .reserveStock, .releaseStock, .commitStock:
            guard let sku = message.sku, !sku.isEmpty else { throw .rejected(DomainError("invalid_command", "sku is required", field: "sku")) }
            let command: StockCommand =
                switch message.type {
                case .reserveStock: .reserve(orderID: orderID, quantity: message.quantity ?? 0)
                case .releaseStock: .release(orderID: orderID)
                default: .commit(orderID: orderID)
                }
            _ = try await commands.stock(sku).handle(command, on: Stock.stream(sku), context: context)
        case .authorizePayment:
            _ = try await commands.payment(orderID).handle(
                .authorize(amountCents: message.amountCents ?? 0, method: message.paymentMethod ?? ""), on: Payment.stream(orderID),
                context: context)
        case .refundPayment:
            _ = try await commands.payment(orderID).handle(.refund, on: Payment.stream(orderID), context: context)
        case .confirmOrder:
            _ = try await commands.order(orderID).handle(.confirm, on: Order.stream(orderID), context: context)
        case .cancelOrder:
            _ = try await commands.order(orderID).handle(
                .cancel(reason: message.reason ?? "cancelled"), on: Order.stream(orderID), context: context)
        }
    }
}
