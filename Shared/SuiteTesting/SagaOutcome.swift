public import EventSourcing
public import Testing

/// What a saga did with the `when` input of a `SagaSpecification`: check it with `then…`. A
/// mismatch is one test issue that names the inputs, every expectation that failed with what
/// came instead, and the whole reaction, e.g.
///
///     given Placed (a-1 v1), Reserved (b-1 v1); when Reserved (b-2 v1):
///       status: expected completed, got running
///       commands: expected [], got [Authorize]
///       (reaction: status running, step "authorizing", commands [Authorize], deadline at …)
public struct SagaOutcome<State: Sendable & Equatable> {
    let context: String
    /// The reaction (nil: the event started no instance), or what was thrown.
    public let result: Result<SagaReaction<State>?, any Error>
    var givenFailed = false

    /// Checks the given parts of the reaction; returns it (nil when there was none) for checks
    /// of its own, such as command payloads.
    @discardableResult
    public func then(
        status: SagaStatus? = nil, step: String? = nil, sends commands: [String]? = nil, commandIDs: [String]? = nil, deadline: SagaDeadline? = nil,
        state: State? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) -> SagaReaction<State>? {
        let reaction: SagaReaction<State>
        switch result {
        case .success(let value?): reaction = value
        case .success(nil):
            record(["expected a reaction, got none: the event started no instance"], sourceLocation)
            return nil
        case .failure(let error):
            record(["expected a reaction, got \(givenFailed ? "" : "an error: ")\(error)"], sourceLocation)
            return nil
        }
        var mismatches: [String] = []
        func check<Value: Equatable>(_ name: String, _ expected: Value?, _ actual: Value) {
            if let expected, expected != actual { mismatches.append("\(name): expected \(expected), got \(actual)") }
        }
        check("status", status, reaction.status)
        check("step", step, reaction.step)
        check("commands", commands, reaction.commands.map(\.type))
        check("command ids", commandIDs, reaction.commands.map(\.id))
        check("deadline", deadline, reaction.deadline)
        check("state", state, reaction.state)
        if !mismatches.isEmpty { record(mismatches + ["(reaction: \(Self.summary(reaction)))"], sourceLocation) }
        return reaction
    }

    /// Expects no reaction: the event starts no instance (and is ignored).
    public func thenIgnored(sourceLocation: SourceLocation = #_sourceLocation) {
        switch result {
        case .success(nil): return
        case .success(let reaction?): record(["expected no instance, got a reaction: \(Self.summary(reaction))"], sourceLocation)
        case .failure(let error): record(["expected no instance, got \(error)"], sourceLocation)
        }
    }

    /// Expects the input to throw (the runtime marks the instance failed with the error).
    public func thenThrows(sourceLocation: SourceLocation = #_sourceLocation) {
        switch result {
        case .failure where !givenFailed: return
        case .failure(let error): record(["expected the when input to throw, got \(error)"], sourceLocation)
        case .success(let reaction): record(["expected an error, got \(reaction.map(Self.summary) ?? "no instance")"], sourceLocation)
        }
    }

    private func record(_ lines: [String], _ sourceLocation: SourceLocation) {
        Issue.record(Comment(rawValue: "\(context):\n  " + lines.joined(separator: "\n  ")), sourceLocation: sourceLocation)
    }

    static func summary(_ reaction: SagaReaction<State>) -> String {
        "status \(reaction.status), step \"\(reaction.step)\", commands \(reaction.commands.map(\.type)), deadline \(reaction.deadline)"
            + (reaction.note.map { ", note \"\($0)\"" } ?? "")
    }
}
