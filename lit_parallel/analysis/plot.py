"""The layer x metric picture of an alignment report, as PNG bytes."""

from __future__ import annotations

from matplotlib.ticker import MaxNLocator

from lit_parallel.figures import plt, png_bytes

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
    return png_bytes(fig)
