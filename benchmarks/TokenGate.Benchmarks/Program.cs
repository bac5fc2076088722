// TokenGate's micro-benchmarks (BenchmarkDotNet). Run them in Release, e.g.:
//   dotnet run -c Release --project benchmarks/TokenGate.Benchmarks -- --filter '*'
//   dotnet run -c Release --project benchmarks/TokenGate.Benchmarks -- --filter '*Lookup*' --job short
// Every class reports time and bytes allocated per operation ([MemoryDiagnoser]). docs/PERFORMANCE.md has the last results.
using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
