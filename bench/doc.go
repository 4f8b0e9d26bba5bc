// Package bench measures Telos's orchestration overhead and memory; run with
// make bench.
//
// BenchmarkOrchestration compares, on one embedded Temporal server, the rate
// of 3-step Telos agent runs started through the REST API with the rate of a
// bare Temporal workflow of 3 no-op activities. BenchmarkDevMemory builds
// `telos dev`, runs it as a subprocess and reads its resident memory idle and
// after a load of agent runs. Both print their figures and report them as
// benchmark metrics; neither asserts a target.
package bench
