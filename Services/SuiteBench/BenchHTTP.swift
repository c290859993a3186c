import AsyncHTTPClient
import JSONClient

/// The few HTTP calls the benchmark makes.
struct BenchHTTP: Sendable {
    let commandURL: String
    /// Its own pool: the shared one keeps 8 connections per host, and an open loop above what 8
    /// connections carry would queue in the harness and time out there, not measure the service.
    private let pool: HTTPClient
    private let client: JSONClient

    init(commandURL: String) {
        self.commandURL = commandURL
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 1_024
        pool = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        client = JSONClient(.init(baseURL: commandURL, timeout: .seconds(30), maxResponseBytes: 1 << 20), httpClient: pool)
    }

    func shutdown() {
        try? pool.syncShutdown()
    }

    func restock(_ sku: String, quantity: Int) async throws {
        try await client.post("/stock/\(sku)/restock", body: JSONBody(raw: "{\"quantity\":\(quantity)}")).requireSuccess()
    }

    /// The new order's id; an error naming the status and the service's reason otherwise.
    func placeOrder(sku: String) async throws -> String {
        let body = #"{"customerId":"bench","lines":[{"sku":"\#(sku)","quantity":1,"unitPriceCents":500}],"paymentMethod":"card"}"#
        let answer = try await client.post("/orders", body: JSONBody(raw: body)).require(status: 201)
        guard let id = answer.json?["orderId"] as? String else { throw answer.failure(.undecodable, underlying: "no orderId") }
        return id
    }
}
