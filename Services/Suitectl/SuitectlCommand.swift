import ArgumentParser
import Foundation

@main
struct SuitectlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suitectl",
        abstract: "Operate the suite: dead letters, projections, streams, the outbox, sagas, personal data, and its topology.",
        discussion: """
            suitectl talks to the services over HTTP. Base URLs come from --command-url,
            --projection-url and --saga-url, else from COMMAND_SERVICE_URL, PROJECTION_SERVICE_URL
            (or PROJECTION_SERVICE_1_URL, as written by scripts/stack) and SAGA_ORCHESTRATOR_URL,
            else the default local ports 8081, 8082 and 8083. Admin actions need the token in
            ADMIN_TOKEN (or --token) and record who acted (--operator, default $USER) in the audit log.

            Exit codes: 0 done; 1 the service failed; 3 not found; 4 refused (token missing or
            wrong, admin off); 5 conflict or a rule refused the action; 6 a service is
            unreachable; 7 the action ran but did not succeed (a replayed event failed again, a
            rebuild failed); 64 bad usage.
            """,
        subcommands: [
            DeadLettersCommand.self, ProjectionsCommand.self, StreamsCommand.self, OutboxCommand.self, SagasCommand.self, CustomersCommand.self,
            TopologyCommand.self,
        ])

    /// ArgumentParser's own main, except that a `CLIError` exits with its meaningful code.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("suitectl: \(error.message)\n".utf8))
            Foundation.exit(error.code)
        } catch {
            exit(withError: error)
        }
    }
}
