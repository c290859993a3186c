import Checkout
import EventSourcing
import EventStore
import ServiceSupport

/// The command service's edge of crypto-shredding: customer details are checked and sealed
/// with the customer's key before a decider, the event store or Kafka sees them.
enum PersonalData {
    static func seal(_ details: CustomerDetails, of customerID: String, in vault: PersonalDataVault) async throws(ServiceError) -> SealedData {
        do {
            // Checked before a key is made for the customer: bad input creates nothing.
            try InputLimits.checkID(customerID, field: "customerId", what: "customer")
            try details.validate()
        } catch {
            throw CommandOutcomes.serviceError(.rejected(error))
        }
        let key = try await call { () async throws(PersonalDataError) in try await vault.sealingKey(for: customerID) }
        return try await call { () async throws(PersonalDataError) in try PersonalDataCipher.seal(details, with: key) }
    }

    static func call<T>(_ body: () async throws(PersonalDataError) -> T) async throws(ServiceError) -> T {
        do {
            return try await body()
        } catch {
            switch error {
            case .keyStore:
                throw ServiceError(.serviceUnavailable, code: "key_store_unavailable", message: "the personal data keys are unavailable")
            case .sealing, .corrupt:
                throw ServiceError(.internalServerError, code: "personal_data_error", message: error.description)
            }
        }
    }
}
