import ArgumentParser
import Foundation

struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox", abstract: "Is the outbox draining; republish events after a lost cluster.", subcommands: [Status.self, Republish.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pending events and the oldest one's age, per topic.")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let answer = try await connection.client().json("GET", .command, "/admin/outbox", admin: true)
            if connection.json { return Output.printJSON(answer) }
            let topics = answer as? [[String: Any]] ?? []
            Output.table(
                ["TOPIC", "PENDING", "OLDEST PENDING (s)", "LAST PUBLISHED"],
                topics.map { [$0.text("topic"), $0.text("pending"), $0.text("oldestPendingSeconds"), $0.text("lastPublishedAt")] })
        }
    }

    struct Republish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish the event store's events again from a global position (disaster recovery).",
            discussion: "Consumers recognise the copies as redeliveries (same event ids and stream versions) and skip them.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "First global position to publish again.") var from: Int64
        @Option(help: "Last global position (default: the end of the log).") var through: Int64?

        func validate() throws {
            guard from >= 1 else { throw ValidationError("--from must be a global position (1 or more)") }
            if let through, through < from { throw ValidationError("--through must not be before --from") }
        }

        func run() async throws {
            var body: [String: Any] = ["from": from]
            if let through { body["through"] = through }
            let answer = try await connection.client().json("POST", .command, "/admin/outbox/republish", body: body, admin: true)
            if connection.json { return Output.printJSON(answer) }
            print("queued \((answer as? [String: Any])?.text("queued") ?? "?") event(s) for publishing again")
        }
    }
}
