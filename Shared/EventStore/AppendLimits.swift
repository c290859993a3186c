import EventSourcing

extension PostgresEventStore {
    /// What one append may carry. Each bound keeps an append away from a limit that would
    /// otherwise fail it later and elsewhere: a btree index entry (stream and command ids are
    /// indexed; PostgreSQL refuses entries over about 2.7 kB), and the Kafka producer's
    /// `message.max.bytes` (1,000,000 by default), which the relay must never meet, since an
    /// event it cannot publish would hold its stream forever.
    public enum Limits {
        public static let maxStreamIDBytes = 200
        public static let maxCommandIDBytes = 300
        /// Correlation and causation ids (the correlation id is indexed).
        public static let maxTraceIDBytes = 200
        /// Payload plus metadata of one event.
        public static let maxEventBytes = 512 * 1024

        static func check(stream: String, events: [NewEvent], command: CommandRecord?) throws(EventStoreError) {
            guard !stream.isEmpty, stream.utf8.count <= maxStreamIDBytes else {
                throw EventStoreError(
                    code: .invalidAppend, streamID: String(stream.prefix(80)),
                    reason: "stream id must be 1 to \(maxStreamIDBytes) bytes (got \(stream.utf8.count))")
            }
            if let command, command.id.isEmpty || command.id.utf8.count > maxCommandIDBytes {
                throw EventStoreError(
                    code: .invalidAppend, streamID: stream,
                    reason: "command id must be 1 to \(maxCommandIDBytes) bytes (got \(command.id.utf8.count))")
            }
            for event in events {
                guard event.correlationID.utf8.count <= maxTraceIDBytes, (event.causationID?.utf8.count ?? 0) <= maxTraceIDBytes else {
                    throw EventStoreError(
                        code: .invalidAppend, streamID: stream,
                        reason: "correlation and causation ids must be at most \(maxTraceIDBytes) bytes")
                }
                let size = event.encoded.payload.count + event.metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
                guard size <= maxEventBytes else {
                    throw EventStoreError(
                        code: .invalidAppend, streamID: stream,
                        reason: "event \(event.encoded.type) is \(size) bytes; the limit is \(maxEventBytes)")
                }
                guard !containsEscapedNUL(event.encoded.payload) else {
                    throw EventStoreError(
                        code: .invalidAppend, streamID: stream,
                        reason: "event \(event.encoded.type) has a NUL character (\\u0000) in a string, which jsonb cannot store")
                }
            }
        }

        /// True when a JSON document holds the escape `\u0000` in a string: PostgreSQL's jsonb
        /// refuses it (SQLSTATE 22P05), and as part of a group commit it would fail the whole
        /// statement. Encoders never write a raw NUL inside a string, only this escape.
        static func containsEscapedNUL(_ json: [UInt8]) -> Bool {
            let backslash = UInt8(ascii: "\\")
            var index = 0
            while index < json.count {
                if json[index] == backslash, index + 1 < json.count {
                    if json[index + 1] == UInt8(ascii: "u"), index + 5 < json.count,
                        json[(index + 2)...(index + 5)].elementsEqual("0000".utf8)
                    {
                        return true
                    }
                    index += 2  // an escaped character, possibly another backslash
                    continue
                }
                index += 1
            }
            return false
        }
    }
}
