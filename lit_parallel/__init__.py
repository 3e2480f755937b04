"""lit-parallel: Parallel-SFT and execution-reward RL for code models, on PyTorch Lightning."""

import os

# OpenMP threads that spin while they wait starve the sandboxed programs judged alongside generation
# (and are starved by them): on 2 busy cores one decoding step took 5-9 s spinning, 0.6 s passive.
# Read once, when torch loads libgomp: this package must be imported first (the CLI and tests are).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
