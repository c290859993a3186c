import ServiceSupport

@main
enum ProjectionServiceMain {
    static func main() async {
        await ServiceHost.run(service: "projection-service", defaultPort: 8082) { _, _ in ServicePlan() }
    }
}
