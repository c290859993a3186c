import ArgumentParser

@main
struct SuiteBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite-bench",
        abstract: "Benchmarks of the suite, each beside a baseline measured in the same run.",
        discussion: "Results are medians over rounds that alternate the suite and its baseline, so that a noisy machine affects both.",
        subcommands: [AppendBenchmark.self, RelayBenchmark.self, ProjectBenchmark.self, ScaleBenchmark.self, CheckoutBenchmark.self, ProjectorWorker.self])
}
