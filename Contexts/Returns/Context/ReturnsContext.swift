public import BoundedContexts
import Checkout
import Foundation
import Returns
import ServiceSupport

extension BoundedContext {
    /// Returns and refunds: a customer returns part of a completed order within the return
    /// window; once the warehouse receives the goods, a process manager restocks them and
    /// refunds their price through checkout's command channel, under the return's id.
    ///   RETURN_WINDOW_DAYS          days after a checkout completed that a return is accepted (default 30)
    ///   RETURN_REFUND_DEADLINE_MS   how long the process waits for the payment's answer (default 10000)
    public static let returns = BoundedContext(
        name: "returns",
        streams: [StreamType(category: Return.category, topic: "returns.events", codec: Return.codec, examples: ReturnsExamples.all)],
        commands: CommandSide { environment in
            let days = try integerSetting("RETURN_WINDOW_DAYS", default: 30, range: 0...3_650)
            let commands = ReturnsCommands(store: environment.store, window: TimeInterval(days) * 86_400)
            return CommandPart(
                routes: commands.register(on:), channel: commands.channel,
                states: [Return.category: StreamStateReader { commands.handler($0) }])
        },
        readModels: ReadModelSide(readModels: ReturnsReadModels.all, extensions: [ReturnsQueries.orderView], routes: ReturnsQueries.register),
        sagas: [
            SagaSide(
                name: "returns", reactsTo: [Return.category, Payment.category], path: "/return-processes", idParameter: "returnId",
                commandTypes: ["RestockStock", "RefundPayment"] + ReturnsCommandMessage.Kind.allCases.map(\.rawValue)
            ) { commandTopic in
                let deadline = try integerSetting("RETURN_REFUND_DEADLINE_MS", default: 10_000, range: 100...3_600_000)
                return ReturnsProcess(refundDeadline: .milliseconds(deadline), commandTopic: commandTopic)
            }
        ],
        invariants: { _ in [RefundsWithinCaptured(), RestockedAsReceived(), ReturnsEnd()] },
        openAPI: [
            .commandService: PackageResources.command_service_json, .projectionService: PackageResources.projection_service_json,
            .sagaOrchestrator: PackageResources.saga_orchestrator_json,
        ],
        // The command service checks a return against returns' own read model of purchases.
        grants: { roles in
            [
                """
                DO $$ BEGIN IF to_regclass('read_models.return_purchases') IS NOT NULL THEN
                    GRANT USAGE ON SCHEMA read_models TO \(roles.commandService);
                    GRANT SELECT ON read_models.return_purchases TO \(roles.commandService);
                END IF; END $$
                """
            ]
        })
}
