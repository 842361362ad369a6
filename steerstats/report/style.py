"""The one figure set-up of every steerstats figure: the Agg backend (no display needed) and a
shared style (sizes a paper column can print, no legend frames, light grids).

Error bars: every steerstats figure states in its axis label or legend what its bars are
(``ERROR_BAR_NOTE``): +-1 headline SE for means (the report's convention), or a 95% interval where
the figure says "95%".
"""

from __future__ import annotations

#: what an unlabeled error bar means in steerstats figures
ERROR_BAR_NOTE = "error bars: +-1 headline SE unless the label says 95% interval"

STYLE = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": 150,
}


def pyplot():
    """matplotlib.pyplot on the Agg backend with :data:`STYLE` applied."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update(STYLE)
    return plt
