/// Personal data as an event carries it: encrypted with a key of its own subject (a person),
/// so that deleting the key erases it from every copy of the event at once — the store, Kafka,
/// dead letters, backups — while the event itself stays (crypto-shredding). `PersonalDataCipher`
/// (EventStore) seals and opens it with keys from `PersonalDataVault`; everything else carries
/// it as opaque text.
///
/// `encrypted` names the algorithm and marks the object, so a generic reader (the stream
/// events route) can find sealed values in any payload without knowing the event type.
public struct SealedData: Codable, Sendable, Hashable {
    public static let algorithm = "AES-256-GCM"

    public var encrypted: String
    /// The subject key's id (a UUID); the key itself lives only in the key table.
    public var keyId: String
    /// Base64 of nonce, ciphertext and tag.
    public var data: String

    public init(keyId: String, data: String) {
        self.encrypted = Self.algorithm
        self.keyId = keyId
        self.data = data
    }

    /// The sealed value inside a JSON document, if the document is one.
    public init?(_ json: JSONValue) {
        guard case .object(let fields) = json, fields["encrypted"] == .string(Self.algorithm),
            case .string(let keyId) = fields["keyId"], case .string(let data) = fields["data"]
        else { return nil }
        self.init(keyId: keyId, data: data)
    }
}
