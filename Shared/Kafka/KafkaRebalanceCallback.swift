import CRdKafka

/// librdkafka's rebalance callback, run inside `rd_kafka_consumer_poll` on the consumer's poll
/// queue. It asks the application (`KafkaRebalanceHandler`) and then applies the change with
/// the protocol in use: incremental for cooperative-sticky, full otherwise.
func kafkaRebalanceCallback(
    handle: OpaquePointer?, error: rd_kafka_resp_err_t,
    list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, opaque: UnsafeMutableRawPointer?
) {
    guard let handle, let list, let context = KafkaClientContext.from(handle) else { return }
    let handler = context.rebalance ?? KafkaRebalanceHandler()
    // NULL once the consumer has left its group (a revocation while it closes): the suite's
    // consumers are configured cooperative-sticky, so that is the protocol to undo with. (The
    // imported pointer is implicitly unwrapped; reading a NULL one crashed a test process.)
    let protocolName: UnsafePointer<CChar>? = rd_kafka_rebalance_protocol(handle)
    let cooperative = protocolName.map { String(cString: $0) == "COOPERATIVE" } ?? true
    let partitions = KafkaPartitionList.partitions(list)

    switch error {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        // This runs on the consumer's poll queue (or the Dispatch thread closing it), never on a
        // cooperative thread, so waiting here for the application's async answer parks no
        // thread the answer itself needs.
        let positions = context.isAbandoned ? [:] : waitSynchronously(default: [:]) { await handler.partitionsAssigned(partitions) }
        if let elements = list.pointee.elems {
            for index in 0..<Int(list.pointee.cnt) {
                let partition = KafkaTopicPartition(topic: String(cString: elements[index].topic), partition: elements[index].partition)
                elements[index].offset = (positions[partition] ?? .committed).nativeOffset
            }
        }
        context.logger.info("Kafka partitions assigned", metadata: ["partitions": "\(partitions.sorted())"])
        if cooperative {
            report(rd_kafka_incremental_assign(handle, list), context: context, action: "assign")
        } else {
            let response = rd_kafka_assign(handle, list)
            if response != RD_KAFKA_RESP_ERR_NO_ERROR {
                context.logger.error("Kafka assign failed", metadata: ["reason": "\(String(cString: rd_kafka_err2str(response)))"])
            }
        }
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        let lost = rd_kafka_assignment_lost(handle) != 0
        if !context.isAbandoned { waitSynchronously(default: ()) { await handler.partitionsRevoked(partitions, lost) } }
        context.logger.info(
            "Kafka partitions revoked", metadata: ["partitions": "\(partitions.sorted())", "lost": "\(lost)"])
        if cooperative {
            report(rd_kafka_incremental_unassign(handle, list), context: context, action: "unassign")
        } else {
            _ = rd_kafka_assign(handle, nil)
        }
    default:
        context.logger.error("Kafka rebalance failed", metadata: ["reason": "\(String(cString: rd_kafka_err2str(error)))"])
        _ = rd_kafka_assign(handle, nil)
    }
}

private func report(_ error: OpaquePointer?, context: KafkaClientContext, action: String) {
    guard let error else { return }
    let failure = KafkaError(.partitionOperationFailed, consuming: error)
    context.logger.error("Kafka incremental \(action) failed", metadata: ["reason": "\(failure.reason)"])
}
