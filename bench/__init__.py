"""Benchmarks against baselines; bench/scenes holds the tool that bakes the bundled sample."""
