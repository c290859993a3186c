import ServiceSupport

@main
enum CommandServiceMain {
    static func main() async {
        await ServiceHost.run(service: "command-service", defaultPort: 8081) { _, _ in [] }
    }
}
