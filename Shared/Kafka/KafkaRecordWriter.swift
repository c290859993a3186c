import CRdKafka

/// Enqueues one record with `rd_kafka_produceva` (the array form of the variadic `producev`,
/// which Swift cannot call). librdkafka copies key and value (`RD_KAFKA_MSG_F_COPY`) and takes
/// ownership of the header list once the record is enqueued.
enum KafkaRecordWriter {
    static func produce(
        _ message: KafkaOutgoingMessage, opaque: UnsafeMutableRawPointer, on handle: OpaquePointer
    ) -> rd_kafka_resp_err_t {
        let headers = makeHeaders(message.headers)
        let key = message.key ?? []
        let response = message.topic.withCString { topic in
            message.value.withUnsafeBytes { value in
                key.withUnsafeBytes { keyBytes in
                    var fields: [rd_kafka_vu_t] = []
                    fields.reserveCapacity(7)
                    fields.append(field(RD_KAFKA_VTYPE_TOPIC) { $0.cstr = topic })
                    if let partition = message.partition {
                        fields.append(field(RD_KAFKA_VTYPE_PARTITION) { $0.i32 = partition })
                    }
                    fields.append(
                        field(RD_KAFKA_VTYPE_VALUE) {
                            $0.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                            $0.mem.size = value.count
                        })
                    if message.key != nil {
                        fields.append(
                            field(RD_KAFKA_VTYPE_KEY) {
                                $0.mem.ptr = UnsafeMutableRawPointer(mutating: keyBytes.baseAddress)
                                $0.mem.size = keyBytes.count
                            })
                    }
                    if let headers { fields.append(field(RD_KAFKA_VTYPE_HEADERS) { $0.headers = headers }) }
                    fields.append(field(RD_KAFKA_VTYPE_MSGFLAGS) { $0.i = RD_KAFKA_MSG_F_COPY })
                    fields.append(field(RD_KAFKA_VTYPE_OPAQUE) { $0.ptr = opaque })
                    return fields.withUnsafeBufferPointer { buffer -> rd_kafka_resp_err_t in
                        guard let error = rd_kafka_produceva(handle, buffer.baseAddress, buffer.count) else {
                            return RD_KAFKA_RESP_ERR_NO_ERROR
                        }
                        let code = rd_kafka_error_code(error)
                        rd_kafka_error_destroy(error)
                        return code
                    }
                }
            }
        }
        if response != RD_KAFKA_RESP_ERR_NO_ERROR, let headers {
            rd_kafka_headers_destroy(headers)
        }
        return response
    }

    private static func field(_ type: rd_kafka_vtype_t, _ fill: (inout rd_kafka_vu_t.__Unnamed_union_u) -> Void) -> rd_kafka_vu_t {
        var field = rd_kafka_vu_t()
        field.vtype = type
        fill(&field.u)
        return field
    }

    private static func makeHeaders(_ headers: [KafkaHeader]) -> OpaquePointer? {
        guard !headers.isEmpty, let list = rd_kafka_headers_new(headers.count) else { return nil }
        for header in headers {
            if let value = header.value {
                value.withUnsafeBytes { bytes in
                    _ = rd_kafka_header_add(list, header.key, -1, bytes.baseAddress, bytes.count)
                }
            } else {
                _ = rd_kafka_header_add(list, header.key, -1, nil, 0)
            }
        }
        return list
    }
}
