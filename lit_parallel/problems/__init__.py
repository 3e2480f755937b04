"""Benchmark problems turned into programs the executor can judge."""
