using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// In-process (no generated project to restore and build; the machine may be offline), short runs: these benchmarks
// compare alternatives side by side, they do not publish absolute figures.
var config = DefaultConfig.Instance
    .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
    .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "portcullis-microbench-artifacts"));
BenchmarkSwitcher.FromAssembly(typeof(Portcullis.MicroBench.SessionReadBenchmarks).Assembly).Run(args, config);
