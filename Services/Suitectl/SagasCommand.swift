import ArgumentParser
import Foundation

struct SagasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sagas", abstract: "Checkout sagas: list by state, show one with its history, retry a failed one.",
        subcommands: [List.self, Show.self, Retry.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sagas newest first, optionally of one state.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "running, completed, compensated or failed.") var state: String?
        @Option(help: "At most this many.") var limit = 50

        func run() async throws {
            let answer = try await connection.client().json("GET", .saga, "/sagas" + query([("state", state), ("limit", String(limit))]))
            if connection.json { return Output.printJSON(answer) }
            let listing = answer as? [String: Any] ?? [:]
            let counts = (listing["counts"] as? [String: Any] ?? [:]).map { "\($0.key) \($0.value)" }.sorted().joined(separator: ", ")
            print("counts: \(counts.isEmpty ? "none" : counts)\n")
            Output.table(
                ["ORDER", "STATE", "STEP", "UPDATED", "DEADLINE", "ERROR"],
                (listing["sagas"] as? [[String: Any]] ?? []).map {
                    [$0.text("correlationId"), $0.text("state"), $0.text("step"), $0.text("updatedAt"), $0.text("deadline"), $0.text("error")]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One saga: state, step, pending deadline, and its history.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Order id (the saga's correlation id).") var orderId: String

        func run() async throws {
            let answer = try await connection.client().json("GET", .saga, "/sagas/\(pathComponent(orderId))")
            if connection.json { return Output.printJSON(answer) }
            let saga = answer as? [String: Any] ?? [:]
            Output.fields(["correlationId", "state", "step", "startedAt", "updatedAt", "deadline", "error"].map { ($0, saga.text($0)) })
            if let reason = (saga["data"] as? [String: Any])?["reason"] as? String { Output.fields([("reason", reason)]) }
            print("")
            Output.table(
                ["AT", "KIND", "STEP", "DETAIL"],
                (saga["history"] as? [[String: Any]] ?? []).map { [$0.text("at"), $0.text("kind"), $0.text("step"), $0.text("detail")] })
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a failed saga's current step again (same command ids) and let it run on.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Order id.") var orderId: String

        func run() async throws {
            let answer = try await connection.client().json("POST", .saga, "/admin/sagas/\(pathComponent(orderId))/retry", admin: true)
            if connection.json { return Output.printJSON(answer) }
            print("saga \(orderId) is \((answer as? [String: Any])?.text("state") ?? "?") again")
        }
    }
}
