import Synchronization

/// A drill switch on the saga's command relay: commands of a held type are not published, and
/// neither is any later command with the same key (per-key sequence is kept), until the type is
/// let go. Holding one step's commands is how a drill (or a test) makes a reply arrive after a
/// deadline, or a client's cancel arrive before a confirmation, through the real services.
/// Off unless an operator turns it on (`POST /admin/faults` on the orchestrator). It acts in the
/// process whose relay leads: with several orchestrators, set it on each.
public final class CommandHold: Sendable {
    private let held = Mutex<Set<String>>([])

    public init() {}

    public func set(_ commandType: String, held isHeld: Bool) {
        held.withLock { types in
            if isHeld { types.insert(commandType) } else { types.remove(commandType) }
        }
    }

    public var heldTypes: Set<String> { held.withLock { $0 } }
}
