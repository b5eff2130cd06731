"""``gaussmix fit`` and ``gaussmix select``: mixtures learned from a data file."""

from __future__ import annotations

import os
import sys

import click

from ..io.formats import DataError, data_format, parse_columns
from . import options
from .options import (
    COVARIANCE_GRID_CHOICES,
    COVARIANCE_HELP,
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
from .reading import cli_terms, read_data, table_options
from .terminal_tables import readable_table


def _standardized(table, scratch_dirs=()):
    """``(Z, center, scale)`` with ``Z = (X - center) / scale`` per column.

    A memory-mapped ``.npy`` input gets a memory-mapped ``Z`` too: an anonymous temporary file in
    the first writable folder of ``scratch_dirs`` (then the system's temporary folder), filled
    block by block and gone when the process ends, so a file larger than memory can be fitted
    standardized.
    """
    import numpy as np

    from ..io.writing import no_scratch_space, scratch_array

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
                     "a range or auto; " + COVARIANCE_HELP + ")."),
        click.option("--n-init", type=click.IntRange(1),
                     help="EM starts per model; the best is kept (default 1 for a single fit, "
                     "5 per candidate when selecting)."),
        click.option("--max-iter", default=1000, show_default=True, type=click.IntRange(1),
                     help="EM iterations per start."),
        click.option("--tol", type=FiniteFloatRange(0),
                     help="Stop when the mean log-likelihood per row changes by less than this "
                     "(default: when the gain still to come is below 1e-5 of the "
                     "log-likelihood's size, mclust's relative scale, so slow EM is not "
                     "stopped early)."),
        click.option("--reg-covar", type=FiniteFloatRange(0),
                     help="Added to covariance diagonals (default 1e-6; when selecting a "
                     "model, 1e-6 of the smallest column variance, whatever the units)."),
        click.option("--seed", default=0, show_default=True, type=SEED_TYPE, help="Random seed."),
        columns_option,
        click.option("--missing", default="error", show_default=True,
                     type=click.Choice(["error", "em"]),
                     help="Empty and NaN cells: 'error' refuses them; 'em' treats them as "
                     "missing values, which EM fits from the observed cells of each row."),
        table_options,
        click.option("--family", default="gaussian", show_default=True,
                     type=click.Choice(["gaussian", "student"]),
                     help="Component distribution: 'student' fits multivariate Student-t "
                     "components (heavy tails; each component's degrees of freedom are "
                     "estimated), which stray points bend less."),
        click.option("--noise", is_flag=True,
                     help="Add a uniform noise component over the data's bounding box "
                     "(mclust's noise): rows it explains best are labelled -1."),
        click.option("--standardize", is_flag=True,
                     help="Fit on columns scaled to mean 0 and variance 1; the scaling is stored "
                     "in the model and applied by predict, score and plot."),
        quiet_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _fit_settings(n_init, max_iter, tol, reg_covar, seed, missing, family="gaussian",
                  noise=False):
    settings = {"n_init": n_init, "max_iter": max_iter, "tol": tol, "random_state": seed}
    if family == "student":
        if missing == "em":
            raise click.BadParameter("--family student does not take --missing em yet; impute "
                                     "first, or fit Gaussian components.",
                                     param_hint="'--missing'")
    else:
        settings["missing"] = missing
    if noise:
        if missing == "em":
            raise click.BadParameter("--noise cannot be combined with --missing em.",
                                     param_hint="'--noise'")
        settings["noise"] = True
    if reg_covar is not None:  # else each estimator's own default
        settings["reg_covar"] = reg_covar
    return settings


def _estimator_class(family):
    from ..estimators import GaussianMixture, StudentMixture

    return StudentMixture if family == "student" else GaussianMixture


def _prepare(data, columns, standardize, n_components, outputs=(), missing="error", quiet=False,
             reading=None):
    """Read DATA; with ``standardize``, also its standardized copy (memory-mapped for a
    memory-mapped file, in the folder of the first writable path in ``outputs`` or DATA's)."""
    table = read_data(data, parse_columns(columns), quiet,
                      allow_missing="rows" if missing == "em" else False, **(reading or {}))
    if missing == "em":
        _drop_empty_rows(table, quiet)
    check_rows(table, n_components)
    center = scale = None
    Z = table.X
    if standardize:
        folders = [os.path.dirname(os.path.abspath(p)) for p in (*outputs, data)
                   if p and p != "-"]
        Z, center, scale = _standardized(table, folders)
    return table, Z, center, scale


def _drop_empty_rows(table, quiet):
    """Leave rows with no observed cell out of a missing-value fit (they carry nothing), and
    say how many."""
    import numpy as np

    empty = np.zeros(table.X.shape[0], dtype=bool)
    for start in range(0, len(empty), options.BLOCK_ROWS):
        empty[start : start + options.BLOCK_ROWS] = np.isnan(
            table.X[start : start + options.BLOCK_ROWS]).all(axis=1)
    if empty.any():
        table.X = np.asarray(table.X)[~empty]
        if not quiet:
            click.echo(f"gaussmix: note: {table.path}: {int(empty.sum())} row(s) with every cell "
                       "empty are left out of the fit.", err=True)


def _run_selection(table, Z, ks, covariance_types, criterion, settings, quiet,
                   family="gaussian"):
    """Fit every (K, covariance type) with :func:`gaussmix.select_model` (its own progress bar)."""
    from ..selection import select_model

    settings = {key: value for key, value in settings.items() if value is not None}
    settings["estimator"] = _estimator_class(family)()
    try:
        with reported_warnings():
            return select_model(
                Z, n_components=ks, covariance_types=tuple(covariance_types),
                criterion=criterion, progress=not quiet and sys.stderr.isatty(), **settings,
            )
    except ValueError as exc:
        raise CliError(cli_terms(one_line(f"{table.path}: model selection failed: {exc}"))) \
            from None


def _log_scale_total(X, scale):
    """``sum over rows of sum(log scale)`` over each row's *observed* columns: the log-Jacobian
    of the standardisation for the whole table (a missing cell's column does not enter its
    row's marginal density, so its scale must not enter the row's shift either)."""
    import numpy as np

    log_scale = np.log(np.asarray(scale, dtype=np.float64))
    observed = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], options.BLOCK_ROWS):
        observed += np.sum(~np.isnan(X[start : start + options.BLOCK_ROWS]), axis=0)
    return float(observed @ log_scale)


def _selection_frame(selection, table, scale):
    """The selection table with log-likelihoods and criteria in the units of the raw columns."""
    frame = selection.table.copy()
    if scale is not None:  # log p(x) = log p(z) - sum(log scale) over each row's observed cells
        shift = _log_scale_total(table.X, scale)
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
    "gaussmix fit people.csv -k auto --columns height,weight --standardize -o people.npz",
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
        seed, columns, missing, id_column, sep, decimal, family, noise, standardize, quiet):
    """Fit a mixture (Gaussian, or Student-t with --family student) to the numeric columns of
    DATA and save it.

    DATA is a .csv/.tsv (header detected), .parquet or .npy file. Prints the weights and means
    of the components and the fit's BIC.
    """
    from ..io import save

    settings = _fit_settings(n_init, max_iter, tol, reg_covar, seed, missing, family, noise)
    # one K and one covariance type: a single fit; anything more: model selection over them
    single = (components != "auto" and len(components) == 1
              and len(covariance_grid(covariance_types or ("full",))) == 1)
    smallest = 1 if components == "auto" else components[0]
    table, Z, center, scale = _prepare(data, columns, standardize, smallest, (output,), missing,
                                       quiet, {"id_column": id_column, "sep": sep,
                                               "decimal": decimal})
    selection = None
    if single:
        k = components[0]
        ctype = covariance_grid(covariance_types or ("full",))[0]
        settings["n_init"] = settings["n_init"] or 1
        model = _estimator_class(family)(k, covariance_type=ctype, **settings)
        try:
            message = f"Fitting {k} {ctype} components to {Z.shape[0]} rows"
            with progress(message, quiet) as status, engine_messages(status, model), \
                    reported_warnings():
                model.fit(Z)
        except ValueError as exc:
            raise CliError(cli_terms(one_line(f"{data}: fitting {k} component(s) failed: {exc}"))) \
                from None
        _warn_if_degenerate(model, Z, data)
    else:
        ks = _selection_ks(table, components)
        if max(ks) > Z.shape[0]:
            check_rows(table, max(ks))
        selection = _run_selection(table, Z, ks, covariance_grid(covariance_types), criterion,
                                   settings, quiet, family)
        model = selection.best_
    names = table.names if table.has_header else None
    save(model, output, feature_names=names, center=center, scale=scale)
    out, _ = consoles(quiet)
    _print_summary(out, model, table, Z, center, scale, output, selection, criterion)


def _warn_if_degenerate(model, Z, data):
    """A fit whose component rests on too few rows (or collapsed) gets a warning in the
    command line's terms: ``select`` marks such fits degenerate and never picks them."""
    import numpy as np

    from ..selection.criteria import degenerate_reason

    # the covariance of the complete rows, block by block (a memory-mapped file stays on disk)
    n_features = Z.shape[1]
    count, shift = 0, None
    first, second = np.zeros(n_features), np.zeros((n_features, n_features))
    for start in range(0, Z.shape[0], options.BLOCK_ROWS):
        block = np.asarray(Z[start : start + options.BLOCK_ROWS], dtype=np.float64)
        block = block[~np.isnan(block).any(axis=1)]
        if not len(block):
            continue
        shift = block[0].copy() if shift is None else shift
        block = block - shift
        count += len(block)
        first += block.sum(axis=0)
        second += block.T @ block
    if count < 2:
        return
    mean = first / count
    data_cov = second / count - np.outer(mean, mean)
    data_cov += 1e-12 * max(np.trace(data_cov) / n_features, np.finfo(float).tiny) * np.eye(
        n_features)
    reason = degenerate_reason(model, data_cov, float(Z.shape[0]))
    if reason is not None:
        click.echo(
            f"gaussmix: warning: {data}: the fit is degenerate: {reason}. Its likelihood means "
            "little; use fewer components (-k), a simpler --covariance (tied, diag or "
            "spherical), more rows, or let 'gaussmix select' compare fits.", err=True,
        )


def _print_summary(console, model, table, Z, center, scale, output, selection, criterion):
    import numpy as np

    n_rows = Z.shape[0]
    shift = 0.0 if scale is None else _log_scale_total(table.X, scale) / n_rows
    loglik = model.score(Z) - shift
    n_params = model._n_parameters()
    bic = -2 * loglik * n_rows + n_params * np.log(n_rows)
    means = model.means_.astype(np.float64)
    if center is not None:
        means = means * scale + center
    family = " Student-t" if hasattr(model, "dofs_") else ""
    title = (
        f"{model.n_components}-component {model.covariance_type}{family} mixture, "
        f"{n_rows} rows of {table.path}"
    )
    console.print(title, highlight=False, soft_wrap=True)
    show = [printable(name) for name in table.names] if len(table.names) <= 8 else None
    keys = ["component", "weight", *([f"mean {name}" for name in show] if show else ["mean"])]
    rows = []
    for k in range(model.n_components):
        cells = [f"{v:.4g}" for v in means[k]] if show else [
            np.array2string(means[k][:8], precision=3) + (" ..." if means.shape[1] > 8 else "")
        ]
        rows.append([str(k), f"{model.weights_[k]:.4f}", *cells])
    if model._n_columns() > model.n_components:
        rows.append(["noise (-1)", f"{model.noise_weight_:.4f}", *([""] * (len(keys) - 2))])
    console.print(readable_table(keys, rows, wrap=() if show else ("mean",)))
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
@click.option("-k", "--n-components", "components", default="auto", show_default=True,
              type=ComponentsType(), help="Numbers of components to try: a range (1-8, 2:6), a "
              "list (2,4,8), a number, or 'auto' (1-10, at most one per row).")
@click.option("--criterion", default="bic", show_default=True, type=click.Choice(["bic", "aic", "icl"]),
              help="Criterion that picks the best model (lower is better; ICL also penalises "
              "overlapping components).")
@click.option("-o", "--output", callback=table_output, metavar="OUT",
              help="Also write the criterion table (.csv, .tsv, .parquet).")
@click.option("--plot", "plot_path", callback=image_output, metavar="IMAGE",
              help="Also draw the criterion against K (.png, .pdf, .svg).")
@click.option("--save-best", callback=existing_directory, metavar="MODEL",
              help="Save the best model to this model file.")
@click.option("--format", "output_format", default="table", show_default=True,
              type=click.Choice(["table", "csv", "json"]),
              help="How the ranking is printed: a table for people, CSV or JSON (one object per "
              "fit) for programs; every fit's full row, whatever the terminal's width.")
@_fit_options
@fail_cleanly
def select(data, components, criterion, output, plot_path, save_best, output_format,
           covariance_types, n_init, max_iter, tol, reg_covar, seed, columns, missing, id_column,
           sep, decimal, family, noise, standardize, quiet):
    """Compare mixtures over K and covariance types by BIC, AIC or ICL.

    Prints one row per fit, best first (criteria in the units of the data columns, lower is
    better); degenerate fits (a component on too few rows) and failed fits are listed but never
    chosen.
    """
    if output is not None and data_format(output) == "npy":
        raise click.BadParameter("the table has text columns; use .csv, .tsv or .parquet.",
                                 param_hint="'-o' / '--output'")
    settings = _fit_settings(n_init, max_iter, tol, reg_covar, seed, missing, family, noise)
    table, Z, center, scale = _prepare(data, columns, standardize, 1, (save_best, output),
                                       missing, quiet, {"id_column": id_column, "sep": sep,
                                                        "decimal": decimal})
    ks = _selection_ks(table, components)
    check_rows(table, max(ks))
    selection = _run_selection(table, Z, ks, covariance_grid(covariance_types), criterion,
                               settings, quiet, family)
    frame = _selection_frame(selection, table, scale)
    if output is not None:
        from ..io.table_writing import write_table

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
    ranked = _ranked(frame, criterion)
    if output_format != "table":
        _print_machine(ranked, output_format)
        return
    _print_selection(out, ranked, selection, criterion, table)
    extras = [f"table to {output}" if output else "", f"plot to {plot_path}" if plot_path else "",
              f"best model to {save_best}" if save_best else ""]
    if any(extras):
        out.print("wrote " + ", ".join(e for e in extras if e), highlight=False, soft_wrap=True)


def _ranked(frame, criterion):
    """Best first: usable fits by the criterion, then degenerate ones, then failed ones."""
    rank = {"ok": 0, "degenerate": 1}
    status = frame["status"] if "status" in frame.columns else None
    key = (status.map(lambda s: rank.get(s, 2)) if status is not None else 0)
    return frame.assign(_rank=key, _failed=frame[criterion].isna()).sort_values(
        ["_rank", "_failed", criterion], kind="stable"
    ).drop(columns=["_rank", "_failed"])


def _print_machine(ranked, output_format):
    """The ranking as CSV or JSON on stdout (asked for, so printed even with --quiet)."""
    if output_format == "csv":
        click.echo(ranked.to_csv(index=False), nl=False)
    else:
        click.echo(ranked.to_json(orient="records", indent=1))


def _print_selection(console, frame, selection, criterion, table):
    best = selection.best_params_
    console.print(
        f"Model selection by {criterion.upper()} on {table.path}: best K={best['n_components']}, "
        f"{best['covariance_type']}", highlight=False, soft_wrap=True,
    )
    criteria = ["bic", "aic", "icl"] if console.width >= 100 else [criterion]  # narrow: one
    keys = ["n_components", "covariance_type", "loglik", "n_parameters", *criteria, "status"]
    keys = [key for key in keys if key in frame.columns]
    rows, styles = [], []
    for index, row in frame.iterrows():
        cells = [
            f"{row[k]:.6g}" if isinstance(row[k], float) else str(row[k]) for k in keys
        ]
        message = row.get("message")
        if row.get("status") not in (None, "ok") and isinstance(message, str) and message:
            cells[-1] = f"{row['status']}: {message}"
        rows.append([printable(cell) for cell in cells])
        styles.append("bold" if index == selection.best_index_ else None)
    headers = {"n_components": "K", "covariance_type": "covariance", "n_parameters": "params",
               "bic": "BIC", "aic": "AIC", "icl": "ICL"}
    view = readable_table([headers.get(k, k) for k in keys], rows, wrap=("status",),
                          left=("covariance",), styles=styles)
    console.print(view)
