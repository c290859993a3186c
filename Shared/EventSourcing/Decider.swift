/// The shape of every write model: three plain functions, no I/O (Emmett's `Decider`, Equinox's
/// `initial`/`fold`/`interpret`). A decision that changes nothing returns no events.
public struct Decider<Command: Sendable, State: Sendable, Event: Sendable>: Sendable {
    public let initialState: State
    public let decide: @Sendable (Command, State) throws(DomainError) -> [Event]
    public let evolve: @Sendable (State, Event) -> State

    public init(
        initialState: State,
        decide: @escaping @Sendable (Command, State) throws(DomainError) -> [Event],
        evolve: @escaping @Sendable (State, Event) -> State
    ) {
        self.initialState = initialState
        self.decide = decide
        self.evolve = evolve
    }

    /// The state after `events`, starting from `state` (a snapshot) or the initial state.
    public func fold(_ events: some Sequence<Event>, from state: State? = nil) -> State {
        events.reduce(state ?? initialState, evolve)
    }
}

/// A business rule said no. The HTTP layer answers 422 with `code`, `message` and `field`.
public struct DomainError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// The input field the rule is about, when there is one (e.g. `lines[0].quantity`).
    public var field: String?

    public init(_ code: String, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { field.map { "\(code) (\($0)): \(message)" } ?? "\(code): \(message)" }
}
