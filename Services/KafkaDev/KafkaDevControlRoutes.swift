import Hummingbird
import Kafka
import ServiceHTTP

/// The fault-injection API of `kafka-dev`, bound to loopback only.
struct KafkaDevControlRoutes: Sendable {
    let cluster: KafkaDevCluster

    func register(on router: Router<BasicRequestContext>) {
        router.get("/health/live") { _, _ in "live" }
        router.get("/brokers") { _, _ in
            BrokerList(bootstrapServers: cluster.bootstrapServers, brokers: Array(1...cluster.brokerCount))
        }
        router.post("/brokers/:id/down") { _, context in
            let id = try brokerID(context)
            try clusterOperation { () throws(KafkaError) in try cluster.takeBrokerDown(id) }
            return HTTPResponse.Status.noContent
        }
        router.post("/brokers/:id/up") { _, context in
            let id = try brokerID(context)
            try clusterOperation { () throws(KafkaError) in try cluster.bringBrokerUp(id) }
            return HTTPResponse.Status.noContent
        }
        router.post("/brokers/:id/latency") { request, context in
            guard let milliseconds = request.uri.queryParameters.get("ms", as: Int.self), milliseconds >= 0 else {
                throw ServiceError.invalidField("ms", reason: "must be a whole number of milliseconds >= 0")
            }
            let id = try brokerID(context)
            try clusterOperation { () throws(KafkaError) in try cluster.setBrokerLatency(id, milliseconds: milliseconds) }
            return HTTPResponse.Status.noContent
        }
        router.post("/topics") { request, _ in
            guard let name = request.uri.queryParameters.get("name"), !name.isEmpty else {
                throw ServiceError.invalidField("name", reason: "is required")
            }
            guard let partitions = request.uri.queryParameters.get("partitions", as: Int.self), partitions >= 1 else {
                throw ServiceError.invalidField("partitions", reason: "must be a whole number >= 1")
            }
            try clusterOperation { () throws(KafkaError) in try cluster.createTopic(.init(name: name, partitions: partitions)) }
            return HTTPResponse.Status.created
        }
    }

    private func brokerID(_ context: BasicRequestContext) throws -> Int32 {
        guard let id = context.parameters.get("id", as: Int32.self), id >= 1, Int(id) <= cluster.brokerCount else {
            throw ServiceError.invalidField("id", reason: "must be a broker id from 1 to \(cluster.brokerCount)")
        }
        return id
    }
}

struct BrokerList: ResponseEncodable {
    var bootstrapServers: String
    var brokers: [Int]
}

/// A cluster operation that librdkafka refused, as the suite's JSON error.
private func clusterOperation(_ body: () throws(KafkaError) -> Void) throws(ServiceError) {
    do {
        try body()
    } catch {
        throw ServiceError(.unprocessableContent, code: error.code.rawValue, message: error.description)
    }
}
