import JSONClient

extension JSONClient {
    /// The drill's calls: 10 s each, so that a paused or crashed service does not hold a caller
    /// for the default 30 s (the callers decide whether to retry), and answers up to 4 MiB.
    static let drill = JSONClient(.init(timeout: .seconds(10), maxResponseBytes: 4 << 20))
}
