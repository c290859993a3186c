import ServiceSupport

@main
enum SagaOrchestratorMain {
    static func main() async {
        await ServiceHost.run(service: "saga-orchestrator", defaultPort: 8083) { _, _ in ServicePlan() }
    }
}
