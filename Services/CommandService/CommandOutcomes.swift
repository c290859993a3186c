import EventSourcing
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import ServiceSupport

/// Maps command results and failures to HTTP: 201/200 with the new version, the stored first
/// response for a repeated Idempotency-Key, 404 unknown, 409 conflict, 422 rule violated.
enum CommandOutcomes {
    static func run<T>(_ body: () async throws(CommandError) -> T) async throws(ServiceError) -> T {
        do {
            return try await body()
        } catch {
            throw serviceError(error)
        }
    }

    /// A pure decision's refusal as the HTTP error a command would get.
    static func decided<T>(_ body: () throws(DomainError) -> T) throws(ServiceError) -> T {
        do {
            return try body()
        } catch {
            throw serviceError(.rejected(error))
        }
    }

    static func storeCall<T>(_ body: () async throws(EventStoreError) -> T) async throws(ServiceError) -> T {
        do {
            return try await body()
        } catch {
            throw serviceError(.store(error))
        }
    }

    static func serviceError(_ error: CommandError) -> ServiceError {
        switch error {
        case .rejected(let rule):
            if rule.code == "unknown_order" { return ServiceError(.notFound, code: "not_found", message: rule.message) }
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

    static func response<S, E, Body: Encodable>(
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

    static func json(_ status: HTTPResponse.Status, _ body: some Encodable) throws -> Response {
        try JSONResponse.make(body, status: status)
    }

    /// The stored body of a command's first response (replayed for a repeated key).
    static func encode(_ body: some Encodable) -> [UInt8] {
        (try? Array(JSONResponse.encoder().encode(body))) ?? Array("{}".utf8)
    }
}
