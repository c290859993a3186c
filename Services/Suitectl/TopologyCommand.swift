import ArgumentParser
import BoundedContexts
import CheckoutSuite

/// `suitectl topology`: every name the suite gives its infrastructure, derived from its
/// contexts' declarations. kafka-dev (`--topology`), the compose topic job (`deploy/topics`)
/// and `scripts/check-topology` follow what this prints.
struct TopologyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topology", abstract: "Print the suite's topics, stream types, consumer groups and database roles.")

    @Flag(help: "The whole topology as JSON (what kafka-dev --topology reads).") var json = false
    @Flag(help: "Only the topic names, one per line (deploy/topics).") var topics = false

    func run() throws {
        let topology = SuiteTopology(checkoutSuite)
        if json { return print(try topology.json()) }
        if topics { return print(topology.topics.map(\.name).joined(separator: "\n")) }
        print("suite \(topology.suite): contexts \(topology.contexts.joined(separator: ", ")); database \(topology.database)")
        Output.table(["TOPIC", "KIND", "OWNER", "PARTITIONS"], topology.topics.map { [$0.name, $0.kind, $0.owner, String($0.partitions)] })
        print("")
        Output.table(
            ["STREAM TYPE", "CONTEXT", "TOPIC", "EVENT TYPES"],
            topology.streams.map { stream in
                [stream.category, stream.context, stream.topic, stream.eventTypes.sorted { $0.key < $1.key }.map { "\($0.key) v\($0.value)" }.joined(separator: ", ")]
            })
        print("")
        Output.table(["GROUP", "SERVICE", "TOPICS"], topology.consumerGroups.map { [$0.name, $0.service, $0.topics.joined(separator: ", ")] })
        print("")
        Output.table(["SERVICE", "ROLE"], topology.roles.sorted { $0.key < $1.key }.map { [$0.key, $0.value] })
    }
}
