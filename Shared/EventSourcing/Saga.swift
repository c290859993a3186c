public import Foundation

/// A long-running process that reacts to events by sending commands (a process manager), as
/// pure functions: the runtime (module `Sagas`) stores the state, records handled events,
/// writes the commands to an outbox and fires deadlines, all in one transaction per step.
///
/// Every function gets the current time instead of reading a clock, so a saga is tested like a
/// decider: given a state and an input, expect a reaction.
public protocol SagaDefinition: Sendable {
    associatedtype State: Codable & Sendable & Equatable

    /// The saga type, e.g. "booking"; part of every stored key and command id.
    var name: String { get }

    /// The instance an event belongs to (the correlation id, e.g. the booking id); nil when
    /// this saga does not care about the event.
    func correlationID(of event: RecordedEvent) -> String?

    /// The first reaction of a new instance when `event` starts one; nil when it does not
    /// (such an event without an instance is ignored).
    func start(with event: RecordedEvent, now: Date) throws -> SagaReaction<State>?

    /// Whether `event` could start an instance (whether one runs already is not asked). The
    /// orchestrator lets batches without such events go first under load; the default asks
    /// `start`, a definition may answer from the event type alone.
    func mayStart(_ event: RecordedEvent) -> Bool

    /// The reaction of a running (or finished) instance to one of its events. Throwing marks
    /// the instance failed with the error, for an operator to look at and retry.
    func react(to event: RecordedEvent, in state: State, now: Date) throws -> SagaReaction<State>

    /// The reaction when the instance's deadline has passed without the awaited reply.
    func deadlinePassed(in state: State, now: Date) -> SagaReaction<State>

    /// An operator's retry of a failed instance: send the current step's commands again.
    func retry(_ state: State, now: Date) -> SagaReaction<State>
}

extension SagaDefinition {
    public func mayStart(_ event: RecordedEvent) -> Bool { (try? start(with: event, now: event.recordedAt)) != nil }
}

public enum SagaStatus: String, Codable, Sendable, CaseIterable {
    case running, completed, compensated, failed

    public var isTerminal: Bool { self == .completed || self == .compensated }
}

/// What a saga instance does in answer to an input: its new state, the commands to send, and
/// when it wants to be woken up if the awaited reply does not come.
public struct SagaReaction<State: Sendable & Equatable>: Sendable, Equatable {
    public var state: State
    public var status: SagaStatus
    /// A short name of the step the instance is in, for operators ("reserving seats").
    public var step: String
    public var commands: [SagaCommand]
    public var deadline: SagaDeadline
    /// Why, in words, for the instance's history ("card declined by issuer").
    public var note: String?

    public init(state: State, status: SagaStatus, step: String, commands: [SagaCommand] = [], deadline: SagaDeadline = .none, note: String? = nil) {
        self.state = state
        self.status = status
        self.step = step
        self.commands = commands
        self.deadline = deadline
        self.note = note
    }
}

/// When the instance wants to be woken up if the awaited reply does not come.
public enum SagaDeadline: Sendable, Equatable {
    /// Leave the deadline in force as it is (a reply that did not finish the step).
    case keep
    /// No deadline: waiting for nothing, or finished.
    case none
    case at(Date)
}

/// A command a saga sends. The id is deterministic (saga, instance, step, target), so a retry or
/// a redelivery carries the same id and the receiver executes it once.
public struct SagaCommand: Codable, Sendable, Equatable {
    public var id: String
    public var type: String
    public var topic: String
    /// The Kafka key: the target stream, so one stream's commands stay in sequence.
    public var key: String
    /// The command as JSON.
    public var payload: [UInt8]

    public init(id: String, type: String, topic: String, key: String, payload: [UInt8]) {
        self.id = id
        self.type = type
        self.topic = topic
        self.key = key
        self.payload = payload
    }
}
