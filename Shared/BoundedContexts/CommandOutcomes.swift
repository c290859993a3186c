public import EventSourcing
public import EventStore
import Foundation
public import HTTPTypes
public import Hummingbird
public import ServiceHTTP

/// Maps command results and failures to HTTP: 201/200 with the new version, the stored first
/// response for a repeated Idempotency-Key, 404 unknown, 409 conflict, 422 rule violated.
public enum CommandOutcomes {
    public static func run<T>(_ body: () async throws(CommandError) -> T) async throws(ServiceError) -> T {
        do {
            return try await body()
        } catch {
            throw serviceError(error)
        }
    }

    /// A pure decision's refusal as the HTTP error a command would get.
    public static func decided<T>(_ body: () throws(DomainError) -> T) throws(ServiceError) -> T {
        do {
            return try body()
        } catch {
            throw serviceError(.rejected(error))
        }
    }

    public static func storeCall<T>(_ body: () async throws(EventStoreError) -> T) async throws(ServiceError) -> T {
        do {
            return try await body()
        } catch {
            throw serviceError(.store(error))
        }
    }

    public static func serviceError(_ error: CommandError) -> ServiceError {
        switch error {
        case .rejected(let rule):
            // A rule that names something unknown ("unknown_<thing>") is a 404, not a refusal.
            if rule.code.hasPrefix("unknown_") { return ServiceError(.notFound, code: "not_found", message: rule.message) }
            var details = ["reason": rule.code]
            if let field = rule.field { details["field"] = field }
            return ServiceError(.unprocessableContent, code: rule.code, message: rule.message, details: details)
        case .conflict(let store):
            return ServiceError(
                .conflict, code: "conflict", message: "the stream kept changing; try again",
                details: ["streamId": store.streamID ?? "", "actualVersion": store.actualVersion.map { "\($0)" } ?? ""])
        case .store(let store) where store.code == .commandIDReused:
            return ServiceError(
                .unprocessableContent, code: "idempotency_key_reused",
                message: "this Idempotency-Key was already used for a different request; use a new key",
                details: ["field": "Idempotency-Key", "reason": "idempotency_key_reused"])
        case .store(let store) where store.code == .invalidAppend:
            return ServiceError(.unprocessableContent, code: "invalid_append", message: store.reason)
        case .store(let store):
            return ServiceError(.serviceUnavailable, code: "store_unavailable", message: "the event store is unavailable: \(store.code.rawValue)")
        case .codec(let codec):
            return ServiceError(.internalServerError, code: "corrupt_event", message: codec.description)
        }
    }

    public static func response<S, E, Body: Encodable>(
        _ outcome: CommandOutcome<S, E>, created: Bool, body: (Int64) -> Body
    ) throws -> Response {
        switch outcome {
        case .appended(_, let result, _):
            return try json(created ? .created : .ok, body(result.nextExpectedVersion))
        case .unchanged(_, let version):
            return try json(.ok, body(version))
        case .duplicate(let stored):
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            if let replayed = HTTPField.Name("Idempotent-Replayed") { headers[replayed] = "true" }
            return Response(status: created ? .created : .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: stored)))
        }
    }

    public static func json(_ status: HTTPResponse.Status, _ body: some Encodable) throws -> Response {
        try JSONResponse.make(body, status: status)
    }

    /// The stored body of a command's first response (replayed for a repeated key).
    public static func encode(_ body: some Encodable) -> [UInt8] {
        (try? Array(JSONResponse.encoder().encode(body))) ?? Array("{}".utf8)
    }
}

extension CommandOutcomes {
    /// A call to the personal data key vault, its failure as HTTP: 503 when the keys cannot be
    /// reached, 500 when sealed data is corrupt.
    public static func personalData<T>(_ body: () async throws(PersonalDataError) -> T) async throws(ServiceError) -> T {
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
