import BoundedContexts
import Checkout
import EventSourcing
import EventStore
import ServiceHTTP

/// The command service's edge of crypto-shredding: customer details are checked and sealed
/// with the customer's key before a decider, the event store or Kafka sees them.
enum CheckoutPersonalData {
    static func seal(_ details: CustomerDetails, of customerID: String, in vault: PersonalDataVault) async throws(ServiceError) -> SealedData {
        do {
            // Checked before a key is made for the customer: bad input creates nothing.
            try InputLimits.checkID(customerID, field: "customerId", what: "customer")
            try details.validate()
        } catch {
            throw CommandOutcomes.serviceError(.rejected(error))
        }
        let key = try await CommandOutcomes.personalData { () async throws(PersonalDataError) in try await vault.sealingKey(for: customerID) }
        return try await CommandOutcomes.personalData { () async throws(PersonalDataError) in try PersonalDataCipher.seal(details, with: key) }
    }
}
