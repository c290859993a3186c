public import EventSourcing
public import Testing

/// Given events, when a command, then these events (or this rule violation): the decider spec
/// of Emmett's `DeciderSpecification`, for pure unit tests.
public struct DeciderSpecification<Command: Sendable, State: Sendable, Event: Sendable & Equatable> {
    let decider: Decider<Command, State, Event>
    let history: [Event]

    public init(_ decider: Decider<Command, State, Event>, given history: [Event] = []) {
        self.decider = decider
        self.history = history
    }

    public func given(_ events: Event...) -> Self { Self(decider, given: history + events) }

    public func when(_ command: Command) -> Result<[Event], DomainError> {
        Result { () throws(DomainError) in try decider.decide(command, decider.fold(history)) }
    }

    /// The state after the given events (for checking `evolve`).
    public var state: State { decider.fold(history) }
}

extension Result where Failure == DomainError, Success: Equatable {
    public func then(_ expected: Success, sourceLocation: SourceLocation = #_sourceLocation) {
        switch self {
        case .success(let events): #expect(events == expected, sourceLocation: sourceLocation)
        case .failure(let error): Issue.record("expected events, got rule violation \(error)", sourceLocation: sourceLocation)
        }
    }

    public func thenRejects(_ code: String, field: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        switch self {
        case .success(let events): Issue.record("expected \(code), got events \(events)", sourceLocation: sourceLocation)
        case .failure(let error):
            #expect(error.code == code, sourceLocation: sourceLocation)
            if let field { #expect(error.field == field, sourceLocation: sourceLocation) }
        }
    }
}
