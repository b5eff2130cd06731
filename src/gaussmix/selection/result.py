"""The outcome of :func:`gaussmix.select_model`: the table, the best model and the picture."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .criteria import CRITERIA

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    import pandas as pd
    from matplotlib.axes import Axes

# (marker, line style, colour) of each line of the criterion plot: fourteen that differ in at
# least two of the three, as mclust's BIC plot does with its symbols.
_STYLES = [
    (marker, linestyle, color)
    for (marker, color), linestyle in zip(
        zip("os^vDPXH<>hpd8", ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                               "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
                               "#393b79", "#637939", "#8c6d31", "#843c39"]),
        ["-", "--", "-.", ":"] * 4,
    )
]

COLUMNS = [
    "n_components", "covariance_type", "loglik", "n_parameters", "bic", "aic", "icl",
    "converged", "n_iter", "status", "message",
]


class ModelSelection:
    """The outcome of :func:`select_model`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per fit, in grid order: ``n_components``, ``covariance_type``, ``loglik`` (total
        log-likelihood), ``n_parameters``, ``bic``, ``aic``, ``icl`` (lower is better),
        ``converged``, ``n_iter``, ``status`` (``"ok"``, ``"degenerate"`` or ``"failed"``) and
        ``message`` (why a row is not ``"ok"``, or that an ``"ok"`` row is the fallback fit).
    criterion : str
        The criterion that chose ``best_``.
    best_ : GaussianMixture
        The fitted model with the lowest criterion among eligible rows.
    best_params_ : dict
        ``{"n_components": ..., "covariance_type": ...}`` of ``best_``.
    best_index_ : int
        Row of ``best_`` in ``table``.
    models_ : dict
        ``(n_components, covariance_type) -> GaussianMixture`` for every fit that did not fail.
    set_aside : pandas.DataFrame
        The degenerate or spurious fits, listed apart, that a grid point's search found above
        the proper fit its row reports (the table's columns; never chosen).
    """

    def __init__(self, results: Sequence[Any], criterion: str,
                 allow_degenerate: bool = False) -> None:
        # results: the grid's GridFit records (selection.grid), in grid order
        import pandas as pd

        rows = [result.row for result in results]
        self.table = pd.DataFrame(rows, columns=COLUMNS)
        self.set_aside = pd.DataFrame(
            [result.set_aside for result in results if result.set_aside is not None],
            columns=COLUMNS)
        self.table["n_components"] = self.table["n_components"].astype(int)
        self.table["n_parameters"] = self.table["n_parameters"].astype(int)
        self.table["n_iter"] = self.table["n_iter"].astype(int)
        self.table["converged"] = self.table["converged"].astype(bool)
        self.criterion = criterion
        self.allow_degenerate = bool(allow_degenerate)
        self.models_ = {
            (result.row["n_components"], result.row["covariance_type"]): result.model
            for result in results
            if result.model is not None and result.row["status"] != "failed"
        }
        eligible = self.table["status"].eq("ok")
        if allow_degenerate:
            eligible |= self.table["status"].eq("degenerate")
        scores = self.table[criterion].where(eligible)
        if not scores.notna().any():
            reasons = "; ".join(
                f"K={r.n_components} {r.covariance_type}: {r.status} ({r.message})"
                for r in self.table.itertuples()
            )
            raise ValueError(
                "No fit in the grid is usable" + ("" if allow_degenerate else " (degenerate "
                "fits are excluded; pass allow_degenerate=True to accept them)")
                + f": {reasons}. Try fewer components, a larger reg_covar, or scaled data."
            )
        self.choose(int(scores.idxmin()))

    def choose(self, index: int) -> None:
        """Make the fit of ``table`` row ``index`` the choice: ``best_index_``,
        ``best_params_`` and ``best_`` (for a caller with its own rule over the table's rows,
        such as the outlier detector's)."""
        best = self.table.loc[index]
        self.best_index_ = int(index)
        self.best_params_ = {
            "n_components": int(best["n_components"]),
            "covariance_type": str(best["covariance_type"]),
        }
        self.best_ = self.models_[(self.best_params_["n_components"],
                                   self.best_params_["covariance_type"])]

    def ranking(self, n: int | None = None) -> pd.DataFrame:
        """Eligible rows sorted by the criterion (best first); the top ``n`` if given."""
        ok = self.table["status"].eq("ok")
        if self.allow_degenerate:
            ok |= self.table["status"].eq("degenerate")
        ranked = self.table[ok].sort_values(self.criterion, kind="stable")
        return ranked if n is None else ranked.head(n)

    def plot(self, ax: Axes | None = None,
             criterion: str | None = None) -> Axes:
        """Criterion against the number of components, one line per covariance type.

        Like mclust's BIC plot: every model its own colour, marker and line style (fourteen
        distinguishable ones for ``covariance_types="all"``), the legend naming them. The chosen
        model is marked with a star; degenerate rows are drawn as hollow markers and failed rows
        leave gaps.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw (a new figure if ``None``).
        criterion : {'bic', 'aic', 'icl'}, default=None
            Which criterion to draw; ``None`` draws the one that chose ``best_``. The star marks
            the best row under the drawn criterion.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        criterion = self.criterion if criterion is None else criterion
        if not isinstance(criterion, str) or criterion.lower() not in CRITERIA:
            raise ValueError(f"Unknown criterion {criterion!r}; use 'bic', 'aic' or 'icl'.")
        criterion = criterion.lower()
        table = self.table
        groups = list(table.groupby("covariance_type", sort=False))
        if ax is None:
            _, ax = plt.subplots(figsize=(6.4 if len(groups) <= 6 else 8.6, 4.2))
        for i, (ctype, rows) in enumerate(groups):
            rows = rows.sort_values("n_components")
            ok = rows["status"].eq("ok")
            values = rows[criterion].where(ok)
            marker, linestyle, color = _STYLES[i % len(_STYLES)]
            ax.plot(rows["n_components"], values, marker=marker, linestyle=linestyle,
                    color=color, label=ctype, markersize=5)
            degenerate = rows[rows["status"].eq("degenerate")]
            if len(degenerate):
                ax.plot(degenerate["n_components"], degenerate[criterion], linestyle="none",
                        marker=marker, markerfacecolor="none", color=color)
        if table["status"].eq("degenerate").any():
            ax.plot([], [], linestyle="none", marker="o", markerfacecolor="none", color="gray",
                    label="degenerate fit")
        eligible = table["status"].eq("ok")
        if self.allow_degenerate:
            eligible |= table["status"].eq("degenerate")
        scores = table[criterion].where(eligible)
        best = table.loc[scores.idxmin()]
        ax.plot([best["n_components"]], [best[criterion]], marker="*", markersize=16,
                color="black", linestyle="none",
                label=f"best: K={best['n_components']}, {best['covariance_type']}")
        ax.set_xlabel("number of components K")
        ax.set_ylabel(f"{criterion.upper()} (lower is better)")
        ax.set_xticks(sorted(table["n_components"].unique()))
        if len(groups) <= 6:
            ax.legend(title="covariance type", fontsize="small")
        else:  # mclust's fourteen: two columns beside the plot
            ax.legend(title="covariance model", fontsize="small", ncol=2, loc="upper left",
                      bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
        ax.set_title(f"Model selection by {criterion.upper()}")
        return ax

    def __repr__(self) -> str:
        p = self.best_params_
        n_bad = int((self.table["status"] != "ok").sum())
        extra = f", {n_bad} not ok" if n_bad else ""
        return (
            f"ModelSelection(best K={p['n_components']}, {p['covariance_type']} by "
            f"{self.criterion.upper()}; {len(self.table)} fits{extra})"
        )
