"""Benchmarks (figures, never assertions): `python -m kcsolver.bench` (browser vs TF.js, starts,
CPython throughput) and `python -m kcsolver.bench.engine` (CPython engine latency)."""
