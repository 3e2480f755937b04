"""lit-parallel: Parallel-SFT and execution-reward RL for code models, on PyTorch Lightning."""

__version__ = "0.1.0"
