import CheckoutSuite
import Checkout
import ConsumerRuntime
import EventSourcing
import EventStore
import Foundation
import Kafka
import Logging
import Metrics
import ServiceLifecycle
import ServiceSupport

/// Executes the saga's commands from `checkout.commands` with the same handlers and the same
/// idempotency as HTTP (the command id is the idempotency key), as a handler on the consumer
/// runtime: commands of one stream run in order, different streams of a batch concurrently.
/// Offsets are committed only after every command of the batch is done, so a crash redelivers,
/// and the command log makes that harmless.
struct CommandConsumer: Service {
    let runtime: ConsumerRuntime<CommandBatchHandler>

    init(commands: CheckoutCommands, configuration: ServiceConfiguration, producer: KafkaProducer, logger: Logger) {
        var runtimeConfiguration = ConsumerRuntime<CommandBatchHandler>.Configuration(
            groupID: CheckoutNames.Groups.commands, topics: [CheckoutNames.Topics.commands], instanceID: configuration.instanceID,
            bootstrapServers: configuration.kafkaBrokers)
        // Commands must never be skipped: a new group starts at the earliest retained command.
        runtimeConfiguration.kafkaOverrides = ["auto.offset.reset": "earliest"]
        runtimeConfiguration.maxBatch = 1_000
        runtime = ConsumerRuntime(
            configuration: runtimeConfiguration, handler: CommandBatchHandler(commands: commands, producer: producer, logger: logger), logger: logger)
    }

    func run() async throws { try await runtime.run() }
}

/// A command record as read: the message, or why it is not one.
enum DecodedCommand: Sendable {
    case command(CheckoutCommandMessage)
    case unreadable(String)
}

struct CommandBatchHandler: BatchHandler {
    let commands: CheckoutCommands
    let producer: KafkaProducer
    let logger: Logger
    private let executed = Counter(label: "commands_executed_total")
    private let rejected = Counter(label: "commands_rejected_total")
    private let deadLettered = Counter(label: "commands_dead_lettered_total")

    var commits: CommitMode { .kafkaOffsets }

    func decode(_ record: KafkaConsumedMessage) -> DecodedCommand {
        do {
            return .command(try JSONDecoder().decode(CheckoutCommandMessage.self, from: Data(record.value)))
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
        let message: CheckoutCommandMessage
        switch delivery.item {
        case .command(let decoded): message = decoded
        case .unreadable(let reason):
            await deadLetter(delivery.record, reason: reason)
            return true
        }
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                try await CommandDispatcher(commands: commands).execute(message)
                executed.increment()
                return true
            } catch .rejected(let rule) {
                rejected.increment()
                logger.warning(
                    "command rejected", metadata: ["commandId": "\(message.commandId)", "type": "\(message.type.rawValue)", "reason": "\(rule)"])
                return true
            } catch let error where Self.isPermanent(error) {
                await deadLetter(delivery.record, reason: "command \(message.commandId.prefix(120)) cannot succeed: \(error)")
                return true
            } catch {
                logger.error("command failed; retrying", metadata: ["commandId": "\(message.commandId)", "error": "\(error)"])
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
        await DeadLetterMessage.deliver(DeadLetterMessage.make(from: record, reason: reason, processor: CheckoutNames.Groups.commands, topic: CheckoutNames.Topics.deadLetters), with: producer)
    }
}

/// Routes a command message to its stream's handler.
struct CommandDispatcher {
    let commands: CheckoutCommands

    func execute(_ message: CheckoutCommandMessage) async throws(CommandError) {
        let context = CommandContext(commandID: message.commandId, correlationID: message.correlationId, causationID: message.causationId)
        let orderID = message.orderId
        switch message.type {
        case .reserveStock, .releaseStock, .commitStock, .restockStock:
            guard let sku = message.sku, !sku.isEmpty else { throw .rejected(DomainError("invalid_command", "sku is required", field: "sku")) }
            let command: StockCommand =
                switch message.type {
                case .reserveStock: .reserve(orderID: orderID, quantity: message.quantity ?? 0)
                case .releaseStock: .release(orderID: orderID)
                case .restockStock: .restock(quantity: message.quantity ?? 0)
                default: .commit(orderID: orderID)
                }
            _ = try await commands.stock(sku).handle(command, on: Stock.stream(sku), context: context)
        case .authorizePayment:
            _ = try await commands.payment(orderID).handle(
                .authorize(amountCents: message.amountCents ?? 0, method: message.paymentMethod ?? ""), on: Payment.stream(orderID),
                context: context)
        case .refundPayment:
            // No refund id: a message from before partial refunds, which only the saga sent.
            let refundID = message.refundId ?? Payment.checkoutRefundID(orderID: orderID)
            _ = try await commands.payment(orderID).handle(
                .refund(amountCents: message.amountCents, refundId: refundID), on: Payment.stream(orderID), context: context)
        case .confirmOrder:
            _ = try await commands.order(orderID).handle(.confirm, on: Order.stream(orderID), context: context)
        case .cancelOrder:
            _ = try await commands.order(orderID).handle(
                .cancel(reason: message.reason ?? "cancelled"), on: Order.stream(orderID), context: context)
        }
    }
}
