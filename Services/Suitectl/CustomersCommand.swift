import ArgumentParser
import Foundation

struct CustomersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "customers", abstract: "Personal data: forget a customer (right to erasure).", subcommands: [Forget.self])

    struct Forget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a customer's personal data keys: their details read as erased everywhere, for good.",
            discussion: """
                Their events stay and still load, replay and rebuild; read models drop the details
                when they apply the CustomerForgotten event this records. Cannot be undone. A repeat
                deletes nothing more (0 keys).
                """)
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The customer id (1 to 64 of A-Z a-z 0-9 . _ -).") var customerID: String

        func validate() throws {
            guard !customerID.isEmpty, customerID.utf8.count <= 64,
                customerID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) })
            else { throw ValidationError("the customer id must be 1 to 64 characters of A-Z a-z 0-9 . _ -") }
        }

        func run() async throws {
            let answer = try await connection.client().json("POST", .command, "/customers/\(customerID)/forget", admin: true)
            if connection.json { return Output.printJSON(answer) }
            let result = answer as? [String: Any] ?? [:]
            print(
                "forgot customer \(customerID): \(result.text("keysDeleted")) key(s) deleted; recorded on \(result.text("streamId")) v\(result.text("version"))")
        }
    }
}
