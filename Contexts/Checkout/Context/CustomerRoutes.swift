import BoundedContexts
import Checkout
import EventSourcing
import EventStore
import Foundation
import Hummingbird
import Logging
import ServiceHTTP

/// `POST /customers/{customerId}/forget`, the right to erasure (operators only: it cannot be
/// undone). Deletes the customer's personal data keys, so every sealed copy of their details
/// reads as erased from then on, then records `CustomerForgotten` on `customer-<id>`, which
/// read models apply by dropping what they showed, then deletes any key a placement made
/// meanwhile. Every request is recorded (a repeat deletes nothing more but purges again), so a
/// repeat after a crash between the steps finishes the job.
struct CustomerRoutes: Sendable {
    let commands: CheckoutCommands
    let logger: Logger

    func register(on group: RouterGroup<BasicRequestContext>) {
        group.post("/:customerId/forget", use: forget)
    }

    struct ForgetResponse: Encodable {
        var customerId: String
        var keysDeleted: Int
        var streamId: String
        var version: Int64
        var correlationId: String
    }

    @Sendable func forget(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let customerID = try RequestJSON.idParameter("customerId", of: context)
        let correlationID = RequestJSON.correlationID(of: request)
        let deleted = try await CommandOutcomes.personalData { () async throws(PersonalDataError) in try await commands.vault.forget(customerID) }
        let outcome = try await CommandOutcomes.run { () async throws(CommandError) in
            try await commands.customer(customerID).handle(
                .recordForgotten(keysDeleted: deleted), on: Customer.stream(customerID), context: CommandContext(correlationID: correlationID),
                result: { _ in [] })
        }
        // A placement between the deletion and the record made a new key for an order recorded
        // before `CustomerForgotten` (so purged from the read model): that key goes too.
        let late = try await CommandOutcomes.personalData { () async throws(PersonalDataError) in try await commands.vault.forget(customerID) }
        let version: Int64
        switch outcome {
        case .appended(_, let result, _): version = result.nextExpectedVersion
        case .unchanged(_, let reached): version = reached
        case .duplicate: version = 0
        }
        logger.notice(
            "customer forgotten", metadata: ["customer_id": "\(customerID)", "keys_deleted": "\(deleted + late)", "correlation_id": "\(correlationID)"])
        return try CommandOutcomes.json(
            .ok,
            ForgetResponse(
                customerId: customerID, keysDeleted: deleted + late, streamId: Customer.stream(customerID).description, version: version,
                correlationId: correlationID))
    }
}
