import ArgumentParser
import BoundedContexts
import CheckoutSuite
import Foundation

struct SagasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sagas", abstract: "The suite's sagas and process managers: list by state, show one with its history, retry a failed one.",
        subcommands: [List.self, Show.self, Retry.self])

    /// Which saga (`--saga`, default the suite's first): where the orchestrator serves it.
    struct Choice: ParsableArguments {
        @Option(help: "The saga or process manager, by name (see suitectl topology); default the first.") var saga: String?

        var path: String {
            get throws {
                let sagas = SuiteTopology(checkoutSuite).sagas
                guard let chosen = saga.map({ name in sagas.first { $0.name == name } }) ?? sagas.first else {
                    throw CLIError(message: "no saga named \(saga ?? "-"); the suite has \(sagas.map(\.name).joined(separator: ", "))", code: 64)
                }
                return chosen.path
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sagas newest first, optionally of one state.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var choice: Choice
        @Option(help: "running, completed, compensated or failed.") var state: String?
        @Option(help: "At most this many.") var limit = 50

        func run() async throws {
            let answer = try await connection.client().json("GET", .saga, try choice.path + query([("state", state), ("limit", String(limit))]))
            if connection.json { return Output.printJSON(answer) }
            let listing = answer as? [String: Any] ?? [:]
            let counts = (listing["counts"] as? [String: Any] ?? [:]).map { "\($0.key) \($0.value)" }.sorted().joined(separator: ", ")
            print("counts: \(counts.isEmpty ? "none" : counts)\n")
            Output.table(
                ["ID", "STATE", "STEP", "UPDATED", "DEADLINE", "ERROR"],
                (listing["sagas"] as? [[String: Any]] ?? []).map {
                    [$0.text("correlationId"), $0.text("state"), $0.text("step"), $0.text("updatedAt"), $0.text("deadline"), $0.text("error")]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One saga: state, step, pending deadline, and its history.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var choice: Choice
        @Argument(help: "The instance's id (its correlation id: an order id, a return id).") var id: String

        func run() async throws {
            let answer = try await connection.client().json("GET", .saga, "\(try choice.path)/\(pathComponent(id))")
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
        static let configuration = CommandConfiguration(abstract: "Ask a failed saga to go on: its definition's retry (the checkout saga resends its step under the same command ids; the returns process asks its refund again).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var choice: Choice
        @Argument(help: "The instance's id.") var id: String

        func run() async throws {
            let answer = try await connection.client().json("POST", .saga, "/admin\(try choice.path)/\(pathComponent(id))/retry", admin: true)
            if connection.json { return Output.printJSON(answer) }
            print("saga \(id) is \((answer as? [String: Any])?.text("state") ?? "?") again")
        }
    }
}
