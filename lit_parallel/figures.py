"""Matplotlib for files only (no display on training machines), and the two forms a figure takes here:
PNG bytes (files) and an RGB array (TensorBoard's ``add_image(..., dataformats="HWC")``)."""

from __future__ import annotations

import io

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

__all__ = ["plt", "png_bytes", "png_to_rgb"]


def png_bytes(fig: object) -> bytes:
    """The figure as PNG, trimmed to its content; the figure is closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def png_to_rgb(png: bytes) -> np.ndarray:
    """An ``[H, W, 3]`` float array of a PNG."""
    return plt.imread(io.BytesIO(png))[..., :3]
