/// The faults a drill injects, in the order one round takes them. Every service type is
/// crashed at least twice per round: once from outside (SIGKILL at any moment) and once at an
/// exact point from inside (`CrashPoint`).
enum DrillFault: String, CaseIterable, Sendable {
    case commandServiceKilled = "SIGKILL command-service"
    case eventRelayCrashedAfterPublish = "command-service (event relay leader) crashed between publish and mark"
    case projectorCrashedMidBatch = "projection-service-1 crashed mid-batch (rows written, checkpoint not)"
    case projectorKilled = "SIGKILL projection-service-2"
    case orchestratorKilled = "SIGKILL saga-orchestrator"
    case commandRelayCrashedAfterPublish = "saga-orchestrator (command relay leader) crashed between publish and mark"
    case projectorPausedPastSession = "SIGSTOP projection-service-1 past its Kafka session, then SIGCONT"
    case postgresRestarted = "PostgreSQL crash-restart (immediate stop, start)"
    case brokerDown = "Kafka broker 1 down for 10 s, then up"
    case brokerLatency = "Kafka brokers +300 ms latency for 10 s"

    /// The short name `--faults` takes.
    var name: String {
        switch self {
        case .commandServiceKilled: "kill-command"
        case .eventRelayCrashedAfterPublish: "crash-event-relay"
        case .projectorCrashedMidBatch: "crash-projector"
        case .projectorKilled: "kill-projector"
        case .orchestratorKilled: "kill-orchestrator"
        case .commandRelayCrashedAfterPublish: "crash-command-relay"
        case .projectorPausedPastSession: "pause-projector"
        case .postgresRestarted: "restart-postgres"
        case .brokerDown: "broker-down"
        case .brokerLatency: "broker-latency"
        }
    }

    /// Parses `--faults`: a comma-separated list of short names, or `all`.
    static func parseList(_ text: String) -> [DrillFault]? {
        if text == "all" { return allCases }
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let faults = names.compactMap { name in allCases.first { $0.name == name } }
        return faults.count == names.count && !faults.isEmpty ? faults : nil
    }
}

/// When each fault starts: after a warm-up, the run is cut into equal slots, at least one per
/// fault, at most one every `minimumSlot`; a longer run repeats the round.
struct DrillSchedule: Equatable, Sendable {
    struct Entry: Equatable, Sendable {
        var offset: Duration
        var fault: DrillFault
    }

    static let warmUp: Duration = .seconds(10)
    static let minimumSlot: Duration = .seconds(15)

    var entries: [Entry]

    init(duration: Duration, faults: [DrillFault] = DrillFault.allCases) {
        guard !faults.isEmpty else {
            entries = []
            return
        }
        let usable = max(duration - Self.warmUp, .zero)
        let slots = max(faults.count, Int(usable / Self.minimumSlot))
        let slot = usable / slots
        entries = (0..<slots).map { Entry(offset: Self.warmUp + slot * $0, fault: faults[$0 % faults.count]) }
    }
}
