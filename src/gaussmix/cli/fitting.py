"""``gaussmix fit`` and ``gaussmix select``: mixtures learned from a data file."""

from __future__ import annotations

import os
import sys

import click
import numpy as np

from ..io.formats import DataError, data_format, parse_columns
from ..io.tables import read_table
from ..io.writing import no_scratch_space, scratch_array, write_table
from . import options
from .options import (
    COVARIANCE_GRID_CHOICES,
    SEED_TYPE,
    CliError,
    ComponentsType,
    FiniteFloatRange,
    check_rows,
    columns_option,
    consoles,
    covariance_grid,
    engine_messages,
    examples,
    existing_directory,
    fail_cleanly,
    image_output,
    one_line,
    printable,
    progress,
    quiet_option,
    reported_warnings,
    save_figure,
    table_output,
)


def _standardized(table, scratch_dirs=()):
    """``(Z, center, scale)`` with ``Z = (X - center) / scale`` per column.

    A memory-mapped ``.npy`` input gets a memory-mapped ``Z`` too: an anonymous temporary file in
    the first writable folder of ``scratch_dirs`` (then the system's temporary folder), filled
    block by block and gone when the process ends, so a file larger than memory can be fitted
    standardized.
    """
    X = table.X
    chunk = options.BLOCK_ROWS  # two passes over blocks of rows: no full-size temporary for big files
    center = np.zeros(X.shape[1])  # of the observed cells (missing ones are NaN)
    count = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], chunk):
        block = X[start : start + chunk]
        center += np.nansum(block, axis=0, dtype=np.float64)
        count += np.sum(~np.isnan(block), axis=0)
    center /= np.maximum(count, 1)
    variance = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], chunk):
        variance += np.nansum((X[start : start + chunk] - center) ** 2, axis=0)
    scale = np.sqrt(variance / np.maximum(count, 1))
    constant = [table.names[j] for j in np.flatnonzero(~(scale > 0))]
    if constant:
        raise DataError(
            f"{table.path}: column {', '.join(map(repr, constant))} is constant, so it cannot be "
            "standardized; leave it out with --columns."
        )
    if not isinstance(X, np.memmap):
        return ((X - center) / scale).astype(X.dtype, copy=False), center, scale
    Z = scratch_array(X.shape, X.dtype, table.path, scratch_dirs)
    try:
        for start in range(0, X.shape[0], chunk):
            Z[start : start + chunk] = (X[start : start + chunk] - center) / scale
    except OSError as exc:  # the scratch file's folder ran out of space while writing
        raise DataError(no_scratch_space(table.path, Z.nbytes, exc)) from None
    return Z, center, scale


# Rows per block when the CLI streams through a file.


# ---------------------------------------------------------------------- fit
def _fit_options(func):
    options = [
        click.option("--covariance", "covariance_types", multiple=True,
                     type=COVARIANCE_GRID_CHOICES,
                     help="Covariance type (repeat to compare several when selecting; 'all': "
                     "mclust's 14 models; default full for one K, full/tied/diag/spherical for "
                     "a range or auto)."),
        click.option("--n-init", type=click.IntRange(1),
                     help="EM starts per model; the best is kept (default 1 for a single fit, "
                     "5 per candidate when selecting)."),
        click.option("--max-iter", default=100, show_default=True, type=click.IntRange(1),
                     help="EM iterations per start."),
        click.option("--tol", default=1e-3, show_default=True, type=FiniteFloatRange(0),
                     help="Stop when the mean log-likelihood improves by less than this."),
        click.option("--reg-covar", default=1e-6, show_default=True, type=FiniteFloatRange(0),
                     help="Added to covariance diagonals."),
        click.option("--seed", default=0, show_default=True, type=SEED_TYPE, help="Random seed."),
        columns_option,
        click.option("--missing", default="error", show_default=True,
                     type=click.Choice(["error", "em"]),
                     help="Empty and NaN cells: 'error' refuses them; 'em' treats them as "
                     "missing values, which EM fits from the observed cells of each row."),
        click.option("--standardize", is_flag=True,
                     help="Fit on columns scaled to mean 0 and variance 1; the scaling is stored "
                     "in the model and applied by predict, score and plot."),
        quiet_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _fit_settings(n_init, max_iter, tol, reg_covar, seed, missing):
    return {"n_init": n_init, "max_iter": max_iter, "tol": tol, "reg_covar": reg_covar,
            "random_state": seed, "missing": missing}


def _prepare(data, columns, standardize, n_components, outputs=(), missing="error"):
    """Read DATA; with ``standardize``, also its standardized copy (memory-mapped for a
    memory-mapped file, in the folder of the first writable path in ``outputs`` or DATA's)."""
    table = read_table(data, parse_columns(columns), allow_missing=missing == "em")
    check_rows(table, n_components)
    center = scale = None
    Z = table.X
    if standardize:
        folders = [os.path.dirname(os.path.abspath(p)) for p in (*outputs, data)
                   if p and p != "-"]
        Z, center, scale = _standardized(table, folders)
    return table, Z, center, scale


def _run_selection(table, Z, ks, covariance_types, criterion, settings, quiet):
    """Fit every (K, covariance type) with :func:`gaussmix.select_model` (its own progress bar)."""
    from ..selection import select_model

    settings = {key: value for key, value in settings.items() if value is not None}
    try:
        with reported_warnings():
            return select_model(
                Z, n_components=ks, covariance_types=tuple(covariance_types),
                criterion=criterion, progress=not quiet and sys.stderr.isatty(), **settings,
            )
    except ValueError as exc:
        raise CliError(one_line(f"{table.path}: model selection failed: {exc}")) from None


def _selection_frame(selection, Z, scale):
    """The selection table with log-likelihoods and criteria in the units of the raw columns."""
    frame = selection.table.copy()
    if scale is not None:  # log p(x) = log p(z) - sum(log scale) for every row
        shift = Z.shape[0] * float(np.sum(np.log(scale)))
        frame["loglik"] = frame["loglik"] - shift
        for key in ("bic", "aic", "icl"):
            frame[key] = frame[key] + 2.0 * shift
    return frame


def _selection_ks(table, ks):
    n_rows = table.X.shape[0]
    if ks == "auto":
        ks = list(range(1, min(10, n_rows) + 1))
    return ks


@click.command(epilog=examples(
    "gaussmix fit data.csv -k 3 -o model.npz",
    "gaussmix fit data.csv -k 2-6 --covariance full --covariance diag -o model.npz",
    "gaussmix fit people.csv -k auto --columns height,weight --standardize -o model.npz",
))
@click.argument("data", metavar="DATA")
@click.option("-k", "--n-components", "components", default="auto", show_default=True,
              type=ComponentsType(), help="Number of components: a number, a range (1-8, 2:6) "
              "or 'auto' (1-10); a range or auto picks the best model by --criterion.")
@click.option("-o", "--output", required=True, callback=existing_directory, metavar="MODEL",
              help="Model file to write (e.g. model.npz).")
@click.option("--criterion", default="bic", show_default=True, type=click.Choice(["bic", "aic", "icl"]),
              help="Model selection criterion for a range or auto (lower is better).")
@_fit_options
@fail_cleanly
def fit(data, components, output, criterion, covariance_types, n_init, max_iter, tol, reg_covar,
        seed, columns, missing, standardize, quiet):
    """Fit a Gaussian mixture to the numeric columns of DATA and save it.

    DATA is a .csv/.tsv (header detected), .parquet or .npy file. Prints the weights and means
    of the components and the fit's BIC.
    """
    from ..estimators import GaussianMixture
    from ..io import save

    settings = _fit_settings(n_init, max_iter, tol, reg_covar, seed, missing)
    # one K and one covariance type: a single fit; anything more: model selection over them
    single = (components != "auto" and len(components) == 1
              and len(covariance_grid(covariance_types or ("full",))) == 1)
    smallest = 1 if components == "auto" else components[0]
    table, Z, center, scale = _prepare(data, columns, standardize, smallest, (output,), missing)
    selection = None
    if single:
        k = components[0]
        ctype = covariance_grid(covariance_types or ("full",))[0]
        settings["n_init"] = settings["n_init"] or 1
        model = GaussianMixture(k, covariance_type=ctype, **settings)
        try:
            message = f"Fitting {k} {ctype} components to {Z.shape[0]} rows"
            with progress(message, quiet) as status, engine_messages(status, model), \
                    reported_warnings():
                model.fit(Z)
        except ValueError as exc:
            raise CliError(one_line(f"{data}: fitting {k} component(s) failed: {exc}")) from None
    else:
        ks = _selection_ks(table, components)
        if max(ks) > Z.shape[0]:
            check_rows(table, max(ks))
        selection = _run_selection(table, Z, ks, covariance_grid(covariance_types), criterion,
                                   settings, quiet)
        model = selection.best_
    names = table.names if table.has_header else None
    save(model, output, feature_names=names, center=center, scale=scale)
    out, _ = consoles(quiet)
    _print_summary(out, model, table, Z, center, scale, output, selection, criterion)


def _print_summary(console, model, table, Z, center, scale, output, selection, criterion):
    from rich.table import Table as RichTable

    n_rows = Z.shape[0]
    shift = 0.0 if scale is None else float(np.sum(np.log(scale)))
    loglik = model.score(Z) - shift
    n_params = model._n_parameters()
    bic = -2 * loglik * n_rows + n_params * np.log(n_rows)
    means = model.means_.astype(np.float64)
    if center is not None:
        means = means * scale + center
    title = (
        f"{model.n_components}-component {model.covariance_type} mixture, "
        f"{n_rows} rows of {table.path}"
    )
    console.print(title, highlight=False, soft_wrap=True)
    summary = RichTable()
    summary.add_column("component", justify="right")
    summary.add_column("weight", justify="right")
    show = [printable(name) for name in table.names] if len(table.names) <= 8 else None
    for name in show or ["mean"]:
        summary.add_column(f"mean {name}" if show else name, justify="right")
    for k in range(model.n_components):
        cells = [f"{v:.4g}" for v in means[k]] if show else [
            np.array2string(means[k][:8], precision=3) + (" ..." if means.shape[1] > 8 else "")
        ]
        summary.add_row(str(k), f"{model.weights_[k]:.4f}", *cells)
    console.print(summary)
    lines = [
        f"BIC {bic:.6g}  (log-likelihood per row {loglik:.6g}, {n_params} parameters"
        + (", means in the original units; fitted on standardized columns)" if center is not None
           else ")"),
        f"EM: {model.n_iter_} iterations, "
        + ("converged" if model.converged_ else "did not converge (raise --max-iter or --tol)"),
    ]
    if selection is not None:
        lines.append(f"chosen by {criterion.upper()} among {len(selection.table)} candidates "
                     "(see 'gaussmix select' for the whole table)")
    lines.append(f"model saved to {output}")
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------- select
@click.command(epilog=examples(
    "gaussmix select data.csv",
    "gaussmix select data.csv -k 1-8 --covariance full --plot bic.png --save-best model.npz",
))
@click.argument("data", metavar="DATA")
@click.option("-k", "--n-components", "components", default="1-10", show_default=True,
              type=ComponentsType(), help="Numbers of components to try: a range (1-8, 2:6), a "
              "list (2,4,8) or a number.")
@click.option("--criterion", default="bic", show_default=True, type=click.Choice(["bic", "aic", "icl"]),
              help="Criterion that picks the best model (lower is better; ICL also penalises "
              "overlapping components).")
@click.option("-o", "--output", callback=table_output, metavar="OUT",
              help="Also write the criterion table (.csv, .tsv, .parquet).")
@click.option("--plot", "plot_path", callback=image_output, metavar="IMAGE",
              help="Also draw the criterion against K (.png, .pdf, .svg).")
@click.option("--save-best", callback=existing_directory, metavar="MODEL",
              help="Save the best model to this model file.")
@_fit_options
@fail_cleanly
def select(data, components, criterion, output, plot_path, save_best, covariance_types, n_init,
           max_iter, tol, reg_covar, seed, columns, missing, standardize, quiet):
    """Compare mixtures over K and covariance types by BIC, AIC or ICL.

    Prints one row per fit, best first (criteria in the units of the data columns, lower is
    better); degenerate fits (a component on too few rows) and failed fits are listed but never
    chosen.
    """
    if output is not None and data_format(output) == "npy":
        raise click.BadParameter("the table has text columns; use .csv, .tsv or .parquet.",
                                 param_hint="'-o' / '--output'")
    settings = _fit_settings(n_init, max_iter, tol, reg_covar, seed, missing)
    table, Z, center, scale = _prepare(data, columns, standardize, 1, (save_best, output),
                                       missing)
    ks = _selection_ks(table, components)
    check_rows(table, max(ks))
    selection = _run_selection(table, Z, ks, covariance_grid(covariance_types), criterion,
                               settings, quiet)
    frame = _selection_frame(selection, Z, scale)
    if output is not None:
        write_table(output, {name: frame[name].to_numpy() for name in frame.columns})
    if plot_path is not None:
        if scale is not None:  # draw the raw-unit criteria
            selection.table = frame
        save_figure(plot_path, selection.plot)
    if save_best is not None:
        from ..io import save

        names = table.names if table.has_header else None
        save(selection.best_, save_best, feature_names=names, center=center, scale=scale)
    out, _ = consoles(quiet)
    _print_selection(out, frame, selection, criterion, table)
    extras = [f"table to {output}" if output else "", f"plot to {plot_path}" if plot_path else "",
              f"best model to {save_best}" if save_best else ""]
    if any(extras):
        out.print("wrote " + ", ".join(e for e in extras if e), highlight=False, soft_wrap=True)


def _print_selection(console, frame, selection, criterion, table):
    from rich.table import Table as RichTable

    best = selection.best_params_
    console.print(
        f"Model selection by {criterion.upper()} on {table.path}: best K={best['n_components']}, "
        f"{best['covariance_type']}", highlight=False, soft_wrap=True,
    )
    view = RichTable()
    keys = ["n_components", "covariance_type", "loglik", "n_parameters", "bic", "aic", "icl",
            "status"]
    keys = [key for key in keys if key in frame.columns]
    for key in keys:
        view.add_column(key, justify="left" if key in ("covariance_type", "status") else "right")
    order = frame.assign(_failed=frame[criterion].isna()).sort_values(
        ["_failed", criterion], kind="stable"
    )
    for index, row in order.iterrows():
        cells = [
            f"{row[k]:.6g}" if isinstance(row[k], float) else str(row[k]) for k in keys
        ]
        if row.get("status") not in (None, "ok") and isinstance(row.get("error"), str):
            cells[-1] = f"{row['status']}: {row['error']}"[:60]
        cells = [printable(cell) for cell in cells]
        is_best = index == selection.best_index_
        view.add_row(*cells, style="bold" if is_best else None)
    console.print(view)
