import ArgumentParser
import Foundation

struct StreamsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams", abstract: "Read a stream's events, or its state at a time or version.", subcommands: [Read.self, State.self])

    struct Read: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A stream's events in order.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Stream id, e.g. order-<id> or stock-<sku>.") var stream: String
        @Option(help: "From this version.") var from: Int64?
        @Option(help: "Through this version.") var to: Int64?

        func run() async throws {
            let answer = try await connection.client().json(
                "GET", .command, "/streams/\(pathComponent(stream))/events" + query([("from", from.map(String.init)), ("to", to.map(String.init))]))
            if connection.json { return Output.printJSON(answer) }
            let events = (answer as? [String: Any])?["events"] as? [[String: Any]] ?? []
            Output.table(
                ["VERSION", "TYPE", "RECORDED", "POSITION", "CORRELATION", "DATA"],
                events.map { event in
                    let data = (try? JSONSerialization.data(withJSONObject: event["data"] ?? [:], options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "-"
                    return [event.text("streamVersion"), event.text("type"), event.text("recordedAt"), event.text("globalPosition"), event.text("correlationId"), data]
                })
        }
    }

    struct State: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A stream's state now, as of a time (--as-of, ISO-8601) or at a version.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Stream id.") var stream: String
        @Option(help: "ISO-8601 time, e.g. 2026-11-23T10:00:00Z.") var asOf: String?
        @Option(help: "Version.") var version: Int64?

        func validate() throws {
            if asOf != nil && version != nil { throw ValidationError("give --as-of or --version, not both") }
        }

        func run() async throws {
            let answer = try await connection.client().json(
                "GET", .command, "/streams/\(pathComponent(stream))/state" + query([("asOf", asOf), ("version", version.map(String.init))]))
            Output.printJSON(answer)
        }
    }
}
