public import Crypto
public import EventSourcing
public import Foundation

/// A subject's data key: what seals and opens its personal data.
public struct SubjectKey: Sendable {
    public var id: UUID
    public var key: SymmetricKey

    public init(id: UUID, key: SymmetricKey) {
        self.id = id
        self.key = key
    }
}

/// AES-256-GCM over personal data, bound to its key id (authenticated, so a sealed value moved
/// under another key id does not open). Pure: keys come from `PersonalDataVault`.
public enum PersonalDataCipher {
    /// What an opened value is: the plaintext JSON, or gone with its key.
    public enum Opened: Sendable, Equatable {
        case revealed(Data)
        case erased
    }

    public static func seal(_ value: some Encodable, with key: SubjectKey) throws(PersonalDataError) -> SealedData {
        let keyID = key.id.uuidString.lowercased()
        do {
            let plaintext = try JSONEncoder().encode(value)
            let box = try AES.GCM.seal(plaintext, using: key.key, authenticating: Data(keyID.utf8))
            guard let combined = box.combined else { throw PersonalDataError.sealing(reason: "no combined representation") }
            return SealedData(keyId: keyID, data: combined.base64EncodedString())
        } catch let error as PersonalDataError {
            throw error
        } catch {
            throw .sealing(reason: "\(error)")
        }
    }

    /// Opens `sealed` with its key from `keys`; a key that is not there was forgotten.
    public static func open(_ sealed: SealedData, keys: [UUID: SymmetricKey]) throws(PersonalDataError) -> Opened {
        guard let keyID = UUID(uuidString: sealed.keyId) else { throw .corrupt(keyID: sealed.keyId, reason: "the key id is not a UUID") }
        guard let key = keys[keyID] else { return .erased }
        guard let combined = Data(base64Encoded: sealed.data) else { throw .corrupt(keyID: sealed.keyId, reason: "the data is not base64") }
        do {
            let box = try AES.GCM.SealedBox(combined: combined)
            return .revealed(try AES.GCM.open(box, using: key, authenticating: Data(sealed.keyId.utf8)))
        } catch {
            throw .corrupt(keyID: sealed.keyId, reason: "does not open with its key (\(error))")
        }
    }

    /// Opens and decodes; nil when the key was forgotten.
    public static func open<T: Decodable>(_ sealed: SealedData, as type: T.Type, keys: [UUID: SymmetricKey]) throws(PersonalDataError) -> T? {
        guard case .revealed(let plaintext) = try open(sealed, keys: keys) else { return nil }
        do {
            return try JSONDecoder().decode(T.self, from: plaintext)
        } catch {
            throw .corrupt(keyID: sealed.keyId, reason: "the opened data is not a \(T.self)")
        }
    }

    /// The key ids of every sealed value in a JSON document.
    public static func keyIDs(in document: JSONValue) -> Set<UUID> {
        if let sealed = SealedData(document) { return UUID(uuidString: sealed.keyId).map { [$0] } ?? [] }
        switch document {
        case .object(let fields): return fields.values.reduce(into: []) { $0.formUnion(keyIDs(in: $1)) }
        case .array(let items): return items.reduce(into: []) { $0.formUnion(keyIDs(in: $1)) }
        default: return []
        }
    }

    /// The document with every sealed value opened, or shown as `{"erased": true}` once its
    /// key is gone (`{"unreadable": reason}` when it does not open with its key).
    public static func reveal(_ document: JSONValue, keys: [UUID: SymmetricKey]) -> JSONValue {
        if let sealed = SealedData(document) {
            do {
                return try open(sealed, as: JSONValue.self, keys: keys) ?? erased
            } catch {
                return .object(["unreadable": .string(error.description)])
            }
        }
        switch document {
        case .object(let fields): return .object(fields.mapValues { reveal($0, keys: keys) })
        case .array(let items): return .array(items.map { reveal($0, keys: keys) })
        default: return document
        }
    }

    /// How an erased value reads.
    public static let erased = JSONValue.object(["erased": .bool(true)])
}

/// Personal data that could not be sealed, or a sealed value that does not open with its key.
public enum PersonalDataError: Error, Sendable, CustomStringConvertible {
    case sealing(reason: String)
    case corrupt(keyID: String, reason: String)
    case keyStore(subject: String, reason: String)

    public var description: String {
        switch self {
        case .sealing(let reason): "personal data could not be sealed: \(reason)"
        case .corrupt(let keyID, let reason): "sealed personal data under key \(keyID) \(reason)"
        case .keyStore(let subject, let reason): "personal data keys of \(subject): \(reason)"
        }
    }
}
