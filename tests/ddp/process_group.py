"""The end of every DDP test script: tear the process group down so that no rank aborts at exit."""

import gc

import torch.distributed as dist


def tear_down() -> None:
    """Collect the DDP wrappers first: they sit in reference cycles, and collected after the group is gone,
    their reducers abort the process ("terminate called without an active exception"). Then wait for
    every rank, so that none tears gloo down while another still uses it. Nothing without a group."""
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
