import ArgumentParser

@main
struct SuiteBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite-bench",
        abstract: "Benchmarks of the suite, each beside a baseline measured in the same run.",
        discussion: "Results are medians over rounds that alternate the suite and its baseline, so that a noisy machine affects both.",
        subcommands: [
            AppendBenchmark.self, RelayBenchmark.self, ProjectBenchmark.self, ScaleBenchmark.self, CheckoutBenchmark.self, BenchAll.self,
            BenchReport.self, ProjectorWorker.self,
        ])
}

/// The in-process benchmarks one after another (append, relay, project), each writing
/// `.stack/bench-<name>.json`, then the report (with the checkout figures when an earlier
/// `scripts/bench checkout` left them: the checkout needs the three services running).
struct BenchAll: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "all", abstract: "append, relay and project, then bench/report.md.")

    @Option(help: "Directory for bench-<name>.json.") var results = ".stack"

    func run() async throws {
        let append = try AppendBenchmark.parse(["--json", "\(results)/bench-append.json"])
        try await append.run()
        let relay = try RelayBenchmark.parse(["--json", "\(results)/bench-relay.json"])
        try await relay.run()
        let project = try ProjectBenchmark.parse(["--json", "\(results)/bench-project.json", "--rebuild-events", "1000000"])
        try await project.run()
        try BenchReport.parse(["--results", results]).run()
    }
}
