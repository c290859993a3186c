import BoundedContexts
import CheckoutReadModels
import Hummingbird
import ServiceHTTP

/// Checkout's read-model queries: an order (summary and timeline, and what other contexts add
/// to it), a customer's orders, a SKU's stock level.
struct CheckoutQueryRoutes: Sendable {
    let queries: ReadModelQueries
    let environment: QueryEnvironment

    func register(on routes: ContextRouter) {
        let router = routes.router
        router.get("/orders/:orderId") { _, context in
            let id = try RequestJSON.idParameter("orderId", of: context)
            guard let order = try await queries.order(id) else { throw ServiceError.notFound("order", id: id) }
            // What other contexts know of the order (its returns, say) under `extensions`.
            return try JSONResponse.make(ExtendedView(order, extensions: await environment.extensions(of: "order", id: id)))
        }
        router.get("/customers/:customerId/orders") { request, context in
            let id = try RequestJSON.idParameter("customerId", of: context)
            let limit = try RequestJSON.limit(of: request)
            guard let customer = try await queries.customer(id, limit: limit) else { throw ServiceError.notFound("customer", id: id) }
            return try JSONResponse.make(customer)
        }
        router.get("/stock/:sku") { _, context in
            let sku = try RequestJSON.idParameter("sku", of: context)
            guard let stock = try await queries.stock(sku) else { throw ServiceError.notFound("sku", id: sku) }
            return try JSONResponse.make(stock)
        }
    }
}
