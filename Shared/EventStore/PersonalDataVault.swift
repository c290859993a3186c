public import Crypto
public import Foundation
public import Logging
public import PostgresNIO
import ServiceSupport

/// The key table behind crypto-shredding (`event_store.personal_data_keys`): one live key per
/// subject, created when its first personal data is sealed and deleted when it is forgotten.
/// After that every sealed copy of its data — in events, on Kafka, in dead letters — reads as
/// erased, and the events themselves still load and replay.
public struct PersonalDataVault: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The subject's live key, created on first use. Not cached: a key forgotten by another
    /// instance must not seal anything new.
    public func sealingKey(for subject: String) async throws(PersonalDataError) -> SubjectKey {
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { ByteBuffer(bytes: $0) }
        let freshID = UUID()
        do {
            // Two placements of a new subject race to create its key: the loser's INSERT does
            // nothing, and its snapshot may predate the winner's commit, so it asks again.
            for _ in 0..<3 {
                let rows = try await client.liveQuery(
                    """
                    WITH created AS (
                        INSERT INTO event_store.personal_data_keys (key_id, subject, key) VALUES (\(freshID), \(subject), \(fresh))
                        ON CONFLICT (subject) DO NOTHING RETURNING key_id, key)
                    SELECT key_id, key FROM created
                    UNION ALL
                    SELECT key_id, key FROM event_store.personal_data_keys WHERE subject = \(subject)
                    LIMIT 1
                    """, logger: logger)
                if let row = rows.first {
                    let (id, bytes) = try row.decode((UUID, ByteBuffer).self)
                    return SubjectKey(id: id, key: SymmetricKey(data: bytes.readableBytesView))
                }
            }
            throw PersonalDataError.keyStore(subject: subject, reason: "its key was created and deleted while it was being read")
        } catch let error as PersonalDataError {
            throw error
        } catch {
            throw failed(.keyStore(subject: subject, reason: DatabaseErrors.describe(error)))
        }
    }

    /// Logged here, where the database's own words are known; callers answer 503.
    private func failed(_ error: PersonalDataError) -> PersonalDataError {
        logger.error("personal data keys unavailable", metadata: ["error": "\(error)"])
        return error
    }

    /// The keys that still exist among `ids`.
    public func keys(_ ids: Set<UUID>) async throws(PersonalDataError) -> [UUID: SymmetricKey] {
        guard !ids.isEmpty else { return [:] }
        do {
            return try await client.withLiveConnection { connection in try await Self.read(ids, on: connection, logger: logger) }
        } catch {
            throw failed(.keyStore(subject: "key ids \(ids.map(\.uuidString).sorted().joined(separator: ","))", reason: DatabaseErrors.describe(error)))
        }
    }

    private static func read(_ ids: Set<UUID>, on connection: PostgresConnection, logger: Logger) async throws -> [UUID: SymmetricKey] {
        var keys: [UUID: SymmetricKey] = [:]
        let rows = try await connection.query(
            "SELECT key_id, key FROM event_store.personal_data_keys WHERE key_id = ANY(\(Array(ids)))", logger: logger)
        for try await row in rows {
            let (id, bytes) = try row.decode((UUID, ByteBuffer).self)
            keys[id] = SymmetricKey(data: bytes.readableBytesView)
        }
        return keys
    }

    /// Deletes the subject's keys; the number deleted (0 when it had none or was forgotten
    /// before). Nothing waits for readers: read models keep details sealed and open them when
    /// queried, so a key deleted now is missing from every later read, whatever a projector
    /// had in hand.
    public func forget(_ subject: String) async throws(PersonalDataError) -> Int {
        do {
            return try await client.liveQuery(
                "DELETE FROM event_store.personal_data_keys WHERE subject = \(subject) RETURNING key_id", logger: logger
            ).count
        } catch {
            throw failed(.keyStore(subject: subject, reason: DatabaseErrors.describe(error)))
        }
    }
}
