"""Kentra test suites; benchmarks live in tests/benchmarks (make bench)."""
