import InvariantChecks
import PostgresNIO
@testable import CheckoutContext
import SuiteTesting

/// The checks over the event store that hold after every checkout finished, however it got
/// there: the invariant checker's own (`suite-check`), so that a test and an operator's check
/// cannot drift apart.
enum EffectChecks {
    /// Violations of "each command took effect once" (effects-once) and "each finished
    /// checkout's effects agree with its outcome; nothing held" (outcomes-agree).
    static func violations(_ client: PostgresClient) async throws -> [String] {
        let results = await InvariantChecker([EffectsOnce(), OutcomesAgree()]).run(CheckContext(client: client, logger: testLogger("checks")))
        return results.flatMap { result in result.violations.map { "\(result.name): \($0)" } }
    }

    static func count(_ client: PostgresClient, _ sql: String) async throws -> Int64 {
        try await client.query(PostgresQuery(unsafeSQL: sql), logger: testLogger("checks")).collect().first?.decode(Int64.self) ?? -1
    }
}
