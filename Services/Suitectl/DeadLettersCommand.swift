import ArgumentParser
import Foundation

struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters", abstract: "Parked events: list, show, replay in order, skip.",
        subcommands: [List.self, Show.self, Replay.self, Skip.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters (parked by default).")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Only this projection (processor part).") var projection: String?
        @Option(help: "Only this stream.") var stream: String?
        @Option(help: "Only those parked at least this many seconds ago.") var olderThan: Int?
        @Option(help: "parked, replayed, skipped or all.") var status = "parked"
        @Option(help: "At most this many.") var limit = 100

        func run() async throws {
            let answer = try await connection.client().json(
                "GET", .projection,
                "/admin/dead-letters"
                    + query([
                        ("projection", projection), ("stream", stream), ("olderThanSeconds", olderThan.map(String.init)), ("status", status),
                        ("limit", String(limit)),
                    ]), admin: true)
            if connection.json { return Output.printJSON(answer) }
            let letters = answer as? [[String: Any]] ?? []
            Output.table(
                ["ID", "PROJECTION", "STREAM", "VERSION", "TYPE", "ATTEMPTS", "STATUS", "BEHIND", "ERROR"],
                letters.map {
                    [$0.text("id"), $0.text("projection"), $0.text("streamId"), $0.text("streamVersion"), $0.text("eventType"),
                     $0.text("attempts"), $0.text("status"), $0.text("blockedBy"), $0.text("error")]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One dead letter: its event, error, attempts and what waits behind it.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Dead letter id.") var id: Int64

        func run() async throws {
            let answer = try await connection.client().json("GET", .projection, "/admin/dead-letters/\(id)", admin: true)
            if connection.json { return Output.printJSON(answer) }
            let detail = answer as? [String: Any] ?? [:]
            let letter = detail["deadLetter"] as? [String: Any] ?? [:]
            Output.fields(
                ["id", "projection", "streamId", "streamVersion", "eventType", "eventId", "topic", "partition", "offset", "status", "attempts",
                 "firstFailedAt", "lastFailedAt", "fingerprint", "error"].map { ($0, letter.text($0)) })
            print("\nevent:\n\(detail.text("event"))")
            let behind = detail["behind"] as? [[String: Any]] ?? []
            print("\nparked behind it (\(behind.count)):")
            Output.table(["ID", "VERSION", "TYPE"], behind.map { [$0.text("id"), $0.text("streamVersion"), $0.text("eventType")] })
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay parked events in order: one stream's sequence, or every stream of a projection (--all).",
            discussion: "An event that fails again is parked again with the new error, and the events behind it stay parked.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "The projection whose dead letters to replay.") var projection: String
        @Option(help: "Replay this stream's parked sequence.") var stream: String?
        @Flag(help: "Replay every parked stream of the projection.") var all = false
        @Option(help: "With --all: only dead letters of this failure fingerprint.") var fingerprint: String?

        func validate() throws {
            guard (stream != nil) != all else { throw ValidationError("give either --stream or --all") }
        }

        func run() async throws {
            var body: [String: Any] = ["projection": projection]
            if let stream { body["stream"] = stream }
            if let fingerprint { body["fingerprint"] = fingerprint }
            let answer = try await connection.client().json("POST", .projection, "/admin/dead-letters/replay", body: body, admin: true)
            if connection.json { Output.printJSON(answer) }
            let report = answer as? [String: Any] ?? [:]
            if !connection.json {
                Output.fields([("replayed", report.text("replayed")), ("still parked", report.text("stillParked")), ("failure", report.text("failure"))])
            }
            if let failure = report["failure"] as? String, !failure.isEmpty { throw CLIError(message: "an event failed again: \(failure)", code: 7) }
        }
    }

    struct Skip: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Never apply one parked event; the reason and you are recorded. Replay the stream afterwards for the events behind it.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Dead letter id.") var id: Int64
        @Option(help: "Why it is skipped (required, recorded).") var reason: String

        func validate() throws {
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--reason must say why") }
        }

        func run() async throws {
            let answer = try await connection.client().json("POST", .projection, "/admin/dead-letters/\(id)/skip", body: ["reason": reason], admin: true)
            if connection.json { return Output.printJSON(answer) }
            print("skipped dead letter \(id)")
        }
    }
}
