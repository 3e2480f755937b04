"""The layer x metric picture of an alignment report, as an RGB array (TensorBoard) or a PNG file."""

from __future__ import annotations

import io

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only: no display on training machines
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

PANELS = (("top1", "top-1 retrieval"), ("mrr", "MRR"), ("cos_pos", "cosine"), ("cos_gap", "cosine gap"))
"""(metric, title) of each panel; the cosine panel also draws non-equivalent pairs dashed."""


def plot_alignment(report: dict, title: str = "") -> bytes:
    """PNG of every pooling's mean-over-pairs curves against the layer, chance levels dashed in grey."""
    fig, axes = plt.subplots(1, len(PANELS), figsize=(4 * len(PANELS), 3.2), dpi=100)
    for ax, (metric, name) in zip(axes, PANELS, strict=True):
        for k, (pooling, curves) in enumerate(report["curves"].items()):
            color = f"C{k}"
            ax.plot(curves["mean"][metric], color=color, marker=".", label=pooling)
            if metric == "cos_pos":
                ax.plot(curves["mean"]["cos_neg"], color=color, linestyle="--", label=f"{pooling} (other)")
        if metric in report["chance"]:
            ax.axhline(report["chance"][metric], color="grey", linestyle=":", label="chance")
        ax.set_title(name)
        ax.set_xlabel("layer")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    axes[2].legend(fontsize=8)
    subject = title or f"{', '.join(report['languages'])}: {report['groups']} parallel groups"
    fig.suptitle(f"{subject} (mean over language pairs)", y=1.04)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def png_to_rgb(png: bytes) -> np.ndarray:
    """An ``[H, W, 3]`` float array of a PNG (what ``SummaryWriter.add_image(..., dataformats="HWC")`` takes)."""
    return plt.imread(io.BytesIO(png))[..., :3]
