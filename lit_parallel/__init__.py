"""lit-parallel: Parallel-SFT and execution-reward RL for code models, on PyTorch Lightning."""

import logging
import os

# OpenMP threads that spin while they wait starve the sandboxed programs judged alongside generation
# (and are starved by them): on 2 busy cores a decoding step took many times longer spinning than passive
# (benchmarks/README.md).
# Read once, when torch loads libgomp: this package must be imported first (the CLI and tests are).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# On AVX512-BF16 CPUs bitsandbytes warns at import that it cannot fetch a kernel from the hub (which is
# out of reach offline) and falls back to its own: noise on every command's stderr.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)

__version__ = "0.1.0"
