public import EventSourcing
public import Foundation

/// Given events (and passed deadlines, operator retries), when one more input, then this
/// reaction: a saga's specification in `DeciderSpecification`'s style (Emmett tests its
/// workflows with the same given/when/then), for pure unit tests. The first given event starts
/// the instance (`start(with:)`); every later input reacts to the state the one before left,
/// as the runtime would feed them.
public struct SagaSpecification<Saga: SagaDefinition> {
    /// One input to an instance, as the runtime delivers it.
    public enum Input: Sendable, CustomStringConvertible {
        case event(RecordedEvent)
        /// The instance's deadline passed at this time.
        case deadlinePassed(Date)
        /// An operator retried the instance at this time.
        case retry(Date)

        public var description: String {
            switch self {
            case .event(let event): "\(event.type) (\(event.streamID) v\(event.streamVersion))"
            case .deadlinePassed(let date): "deadline passed at \(date.formatted(.iso8601))"
            case .retry(let date): "operator retry at \(date.formatted(.iso8601))"
            }
        }
    }

    let saga: Saga
    /// The time every input is handled at, unless it names its own.
    let now: Date
    let history: [Input]

    public init(_ saga: Saga, now: Date, given history: [RecordedEvent] = []) {
        self.init(saga, now: now, inputs: history.map(Input.event))
    }

    init(_ saga: Saga, now: Date, inputs: [Input]) {
        self.saga = saga
        self.now = now
        self.history = inputs
    }

    public func given(_ events: RecordedEvent...) -> Self { Self(saga, now: now, inputs: history + events.map(Input.event)) }

    /// The instance's deadline passed (at `date`, by default the specification's now).
    public func givenDeadlinePassed(at date: Date? = nil) -> Self { Self(saga, now: now, inputs: history + [.deadlinePassed(date ?? now)]) }

    public func when(_ event: RecordedEvent) -> SagaOutcome<Saga.State> { outcome(of: .event(event)) }

    public func whenDeadlinePassed(at date: Date? = nil) -> SagaOutcome<Saga.State> { outcome(of: .deadlinePassed(date ?? now)) }

    public func whenRetried(at date: Date? = nil) -> SagaOutcome<Saga.State> { outcome(of: .retry(date ?? now)) }

    /// The reaction to the last given input (nil: no instance was started), for checking the
    /// given part itself.
    public func reaction() throws -> SagaReaction<Saga.State>? {
        var reaction: SagaReaction<Saga.State>?
        for (index, input) in history.enumerated() {
            do {
                reaction = try apply(input, after: reaction)
            } catch let error as SagaSpecificationError {
                throw error
            } catch {
                throw SagaSpecificationError(description: "given input \(index + 1) (\(input)) threw \(error)")
            }
        }
        return reaction
    }

    private func outcome(of input: Input) -> SagaOutcome<Saga.State> {
        let context = "given " + (history.isEmpty ? "nothing" : history.map(\.description).joined(separator: ", ")) + "; when \(input)"
        do {
            let before = try reaction()
            return SagaOutcome(context: context, result: Result { try apply(input, after: before) })
        } catch {
            return SagaOutcome(context: context, result: .failure(error), givenFailed: true)
        }
    }

    private func apply(_ input: Input, after reaction: SagaReaction<Saga.State>?) throws -> SagaReaction<Saga.State>? {
        switch (input, reaction) {
        case (.event(let event), nil): try saga.start(with: event, now: now)
        case (.event(let event), let reaction?): try saga.react(to: event, in: reaction.state, now: now)
        case (.deadlinePassed(let date), let reaction?): saga.deadlinePassed(in: reaction.state, now: date)
        case (.retry(let date), let reaction?): saga.retry(reaction.state, now: date)
        case (.deadlinePassed, nil), (.retry, nil): throw SagaSpecificationError(description: "\(input) before any event started an instance")
        }
    }
}

/// A specification whose given inputs cannot be played (one threw, or a deadline came first).
public struct SagaSpecificationError: Error, CustomStringConvertible {
    public var description: String
}
