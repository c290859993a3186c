@testable import Checkout
import Crypto
import EventSourcing
import EventStore
import Foundation
import SuiteTesting
import Testing

/// Crypto-shredding's pure parts: sealing and opening customer details, what a reader is shown
/// once a key is gone, the details' rules and the customer stream's decider.
@Suite("Personal data")
struct PersonalDataTests {
    let details = CustomerDetails(name: "Ada Lovelace", email: "ada@example.com", address: "12 St James's Square, London")
    let key = SubjectKey(id: UUID(), key: SymmetricKey(size: .bits256))

    @Test("sealed details open with their key, and the sealed text does not contain them")
    func roundTrip() throws {
        let sealed = try PersonalDataCipher.seal(details, with: key)
        #expect(sealed.encrypted == "AES-256-GCM")
        #expect(sealed.keyId == key.id.uuidString.lowercased())
        let json = String(decoding: try JSONEncoder().encode(sealed), as: UTF8.self)
        for text in ["Ada", "Lovelace", "ada@example.com", "James"] { #expect(!json.contains(text)) }
        #expect(try PersonalDataCipher.open(sealed, as: CustomerDetails.self, keys: [key.id: key.key]) == details)
    }

    @Test("two seals of the same details differ (a fresh nonce each time)")
    func freshNonce() throws {
        #expect(try PersonalDataCipher.seal(details, with: key).data != PersonalDataCipher.seal(details, with: key).data)
    }

    @Test("without its key a sealed value reads as erased")
    func erasedWithoutKey() throws {
        let sealed = try PersonalDataCipher.seal(details, with: key)
        #expect(try PersonalDataCipher.open(sealed, keys: [:]) == .erased)
        #expect(try PersonalDataCipher.open(sealed, as: CustomerDetails.self, keys: [UUID(): SymmetricKey(size: .bits256)]) == nil)
    }

    @Test("a sealed value altered, or moved under another key id, does not open")
    func tamperingIsRefused() throws {
        let sealed = try PersonalDataCipher.seal(details, with: key)
        var bytes = try #require(Data(base64Encoded: sealed.data))
        bytes[bytes.count / 2] ^= 0x01
        let altered = SealedData(keyId: sealed.keyId, data: bytes.base64EncodedString())
        #expect(throws: PersonalDataError.self) { try PersonalDataCipher.open(altered, keys: [key.id: key.key]) }
        let other = UUID()
        let moved = SealedData(keyId: other.uuidString.lowercased(), data: sealed.data)
        #expect(throws: PersonalDataError.self) { try PersonalDataCipher.open(moved, keys: [other: key.key]) }
    }

    @Test("reveal opens sealed values anywhere in a payload and shows a forgotten one as erased")
    func reveal() throws {
        let sealed = try PersonalDataCipher.seal(details, with: key)
        let payload = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(["orderId": "o-1"])).withField("customer", sealed)
        #expect(PersonalDataCipher.keyIDs(in: payload) == [key.id])
        let revealed = PersonalDataCipher.reveal(payload, keys: [key.id: key.key])
        #expect(revealed["customer"]?["email"] == .string("ada@example.com"))
        #expect(revealed["orderId"] == .string("o-1"))
        #expect(PersonalDataCipher.reveal(payload, keys: [:])["customer"] == .object(["erased": .bool(true)]))
    }

    @Test(
        "customer details break a rule: refused naming the field, never echoing the value",
        arguments: [
            (CustomerDetails(name: " ", email: "a@b.io", address: "x"), "customer.name"),
            (CustomerDetails(name: "A", email: "not-an-email", address: "x"), "customer.email"),
            (CustomerDetails(name: "A", email: "a@b", address: "x"), "customer.email"),
            (CustomerDetails(name: "A", email: "a @b.io", address: "x"), "customer.email"),
            (CustomerDetails(name: "A", email: "a@b.io", address: ""), "customer.address"),
            (CustomerDetails(name: String(repeating: "n", count: 201), email: "a@b.io", address: "x"), "customer.name"),
            (CustomerDetails(name: "A\u{0}", email: "a@b.io", address: "x"), "customer.name"),
            (CustomerDetails(name: "Ada\nLovelace", email: "a@b.io", address: "x"), "customer.name"),
            (CustomerDetails(name: "A", email: "a@b.io", address: "1 St\u{7}"), "customer.address"),
        ])
    func detailsRules(details: CustomerDetails, field: String) {
        #expect(throws: DomainError.self) { try details.validate() }
        do {
            try details.validate()
        } catch {
            #expect(error.field == field)
            #expect(error.code == "invalid_customer_details")
            for value in [details.name, details.email, details.address] where value.count > 2 { #expect(!error.message.contains(value)) }
        }
    }

    @Test("valid details pass (a multi-line address too, with either line break)")
    func validDetails() throws {
        try details.validate()
        try CustomerDetails(name: "Zoë", email: "z@x.co.uk", address: "1 High St\nLeeds").validate()
        try CustomerDetails(name: "Zoë", email: "z@x.co.uk", address: "1 High St\r\nLeeds").validate()
    }

    @Test("the order decider carries sealed details into OrderPlaced as they came")
    func orderCarriesSealed() throws {
        let sealed = try PersonalDataCipher.seal(details, with: key)
        let line = OrderLine(sku: "PEN", quantity: 1, unitPriceCents: 100)
        DeciderSpecification(Order.decider(orderID: "o-1"))
            .when(.place(customerID: "c-1", lines: [line], paymentMethod: "card", customer: sealed))
            .then([.placed(OrderPlaced(orderId: "o-1", customerId: "c-1", lines: [line], totalCents: 100, paymentMethod: "card", customer: sealed))])
    }

    @Test("forgetting is recorded every time it is asked for (a repeat after a crash must still purge the read models)")
    func customerDecider() {
        let spec = DeciderSpecification(Customer.decider(customerID: "c-1"))
        let first = CustomerEvent.forgotten(CustomerForgotten(customerId: "c-1", keysDeleted: 1))
        spec.when(.recordForgotten(keysDeleted: 1)).then([first])
        spec.given(first).when(.recordForgotten(keysDeleted: 0)).then([.forgotten(CustomerForgotten(customerId: "c-1", keysDeleted: 0))])
        DeciderSpecification(Customer.decider(customerID: "bad id")).when(.recordForgotten(keysDeleted: 1)).thenRejects("invalid_customer", field: "customerId")
    }
}

extension JSONValue {
    fileprivate func withField(_ name: String, _ value: some Encodable) throws -> JSONValue {
        guard case .object(var fields) = self else { return self }
        fields[name] = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
        return .object(fields)
    }
}
