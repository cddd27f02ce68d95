"""Benchmarks with peer figures in the same run: python -m benchmarks [--quick]."""
