import ArgumentParser
import Foundation

struct ProjectionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections", abstract: "Projection status, rebuilds and checkpoint resets.",
        subcommands: [Status.self, Rebuild.self, Reset.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Per partition: checkpoint, end offset, lag, owner; per projection: state, dead letters, rebuild.")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let answer = try await connection.client().json("GET", .projection, "/projections")
            if connection.json { return Output.printJSON(answer) }
            let report = answer as? [String: Any] ?? [:]
            print("processor \(report.text("processor")) (asked instance \(report.text("instance"))): \(report.text("state"))\n")
            let projections = report["projections"] as? [[String: Any]] ?? []
            Output.table(
                ["PROJECTION", "STATE", "PARKED", "REBUILD"],
                projections.map { projection in
                    let rebuild = projection["rebuild"] as? [String: Any]
                    return [
                        projection.text("name"), projection.text("state"), projection.text("parkedDeadLetters"),
                        rebuild.map { "\($0.text("status")) (\($0.text("eventsApplied")) events)" } ?? "-",
                    ]
                })
            print("")
            let partitions = report["partitions"] as? [[String: Any]] ?? []
            Output.table(
                ["TOPIC", "PARTITION", "CHECKPOINT", "END", "LAG", "OWNER"],
                partitions.map { [$0.text("topic"), $0.text("partition"), $0.text("checkpoint"), $0.text("endOffset"), $0.text("lag"), $0.text("owner")] })
            let lag = partitions.compactMap { ($0["lag"] as? NSNumber)?.int64Value }.reduce(0, +)
            print("\ntotal lag: \(lag)")
        }
    }

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild a projection from the event store into shadow tables, then swap; reads keep working meanwhile.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Projection name (see `suitectl projections status`).") var name: String
        @Flag(help: "Return at once instead of watching the progress until the swap.") var noWait = false
        @Option(help: "Give up watching after this many seconds.") var timeout = 3_600

        func run() async throws {
            let client = connection.client()
            _ = try await client.json("POST", .projection, "/admin/projections/\(pathComponent(name))/rebuild", admin: true)
            print("rebuild of \(name) started")
            guard !noWait else { return }
            let deadline = Date().addingTimeInterval(Double(timeout))
            var last = ""
            while Date() < deadline {
                try await Task.sleep(for: .seconds(1))
                let report = try await client.json("GET", .projection, "/projections") as? [String: Any] ?? [:]
                let projection = (report["projections"] as? [[String: Any]] ?? []).first { $0.text("name") == name }
                guard let rebuild = projection?["rebuild"] as? [String: Any] else { continue }
                let line = "\(rebuild.text("status")): \(rebuild.text("eventsApplied")) events applied, position \(rebuild.text("position"))"
                if line != last { print(line) }
                last = line
                switch rebuild.text("status") {
                case "swapped": return
                case "failed": throw CLIError(message: "rebuild failed: \(rebuild.text("error"))", code: 7)
                default: continue
                }
            }
            throw CLIError(message: "still rebuilding after \(timeout) s; watch with `suitectl projections status`", code: 7)
        }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move the processor's checkpoint of a topic (all partitions, or one) to an offset.",
            discussion: """
                The running instances notice at their next batch (the checkpoint moved under them) and
                read from there. Moving back re-reads events that per-stream versions then skip as
                already applied; moving forward skips events for good (use with care: rebuild instead
                when a read model must be exact).
                """)
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Topic, e.g. checkout.orders.events.") var topic: String
        @Option(help: "Only this partition (default: every partition of the topic).") var partition: Int?
        @Option(help: "The next offset to read.") var offset: Int64

        func run() async throws {
            var body: [String: Any] = ["topic": topic, "offset": offset]
            if let partition { body["partition"] = partition }
            let answer = try await connection.client().json("POST", .projection, "/admin/checkpoints/reset", body: body, admin: true)
            if connection.json { return Output.printJSON(answer) }
            let report = answer as? [String: Any] ?? [:]
            print("checkpoints moved to \(offset): \(report.text("partitions")) partition(s) of \(topic)")
        }
    }
}
