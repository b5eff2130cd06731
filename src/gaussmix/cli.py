"""The ``gaussmix`` command line: one verb per job."""

from __future__ import annotations

import os
import sys

import click
import numpy as np

from ._cli_util import (
    CliError,
    ComponentsType,
    consoles,
    engine_messages,
    examples,
    existing_directory,
    fail_cleanly,
    image_output,
    one_line,
    progress,
    reported_warnings,
    save_figure,
    table_output,
)
from ._data import (
    DataError,
    data_format,
    no_scratch_space,
    parse_columns,
    peek_columns,
    read_table,
    scratch_array,
    write_table,
    write_table_chunks,
)
from ._version import __version__

COVARIANCE_CHOICES = click.Choice(["full", "tied", "diag", "spherical"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gaussmix")
def cli():
    """Gaussian mixture models: generate data, fit, predict, score and see them.

    Data files are .csv/.tsv (header detected), .parquet or .npy. Exit status: 0 on success,
    1 for bad data or model files, 2 for bad usage.

    \b
    Examples:
      gaussmix demo
      gaussmix generate -n 1000 -k 3 -o data.csv
      gaussmix fit data.csv -k auto --standardize -o model.npz
      gaussmix predict data.csv -m model.npz -o labels.csv
      gaussmix score data.csv -m model.npz --contamination 0.01 -o scores.csv
      gaussmix select data.csv -k 1-8 --plot bic.png
      gaussmix plot data.csv -m model.npz -o fit.png
    """


@cli.command()
@click.option("-k", "--n-components", default=3, show_default=True, type=click.IntRange(2, 20),
              help="Number of mixture components.")
@click.option("-n", "--n-samples", default=600, show_default=True, type=click.IntRange(10),
              help="Number of points.")
@click.option("--overlap", default=0.05, show_default=True,
              type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Average pairwise overlap of the true components (0.001 well separated, "
              "0.2 heavily overlapping).")
@click.option("--covariance", "covariance_type", default="full", show_default=True,
              type=COVARIANCE_CHOICES, help="Covariance type of the truth and of the fit.")
@click.option("--seed", default=0, show_default=True, type=int, help="Same seed, same pictures.")
@click.option("-o", "--output-dir", default=".", show_default=True,
              type=click.Path(file_okay=False), help="Folder for gmm_demo.png and gmm_demo_em.gif.")
@click.option("--no-animation", is_flag=True, help="Skip the EM animation (faster).")
def demo(n_components, n_samples, overlap, covariance_type, seed, output_dir, no_animation):
    """Generate a 2-D mixture, learn it with EM, and show both.

    Prints the true and learned parameters side by side and writes gmm_demo.png (truth and fit:
    points by component, red means, 1-2-3 standard-deviation ellipses) and gmm_demo_em.gif (EM at
    work, one frame per iteration after the initialisation frame) into the output folder.

    \b
    Examples:
      gaussmix demo
      gaussmix demo -k 4 --overlap 0.1 --covariance diag -o pictures
    """
    from .demo import run_demo

    try:
        run_demo(n_components, n_samples, covariance_type, seed, overlap=overlap,
                 out_dir=output_dir, animate=not no_animation)  # fmt: skip
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


# ====================================================================== data commands
# Everything below serves generate / fit / predict / score / select / plot.


def _quiet_option(func):
    return click.option(
        "-q", "--quiet", is_flag=True, help="No progress display, tables or status lines."
    )(func)


def _model_option(func):
    return click.option("-m", "--model", "model_path", required=True, metavar="MODEL",
                        help="Model file written by 'gaussmix fit'.")(func)


def _table_output_option(func):
    return click.option("-o", "--output", required=True, callback=table_output, metavar="OUT",
                        help="Output .csv, .tsv, .parquet or .npy ('-' for CSV on stdout).")(func)


def _columns_option(func):
    return click.option(
        "--columns",
        metavar="COLS",
        help="Comma-separated column names or 0-based positions to use (default: all; for a model "
        "fitted on named columns, those names).",
    )(func)


def _read_model_file(path):
    from .io import read_model

    try:
        return read_model(path)
    except FileNotFoundError:
        raise CliError(f"{path}: no such model file.") from None


def _read_for_model(data, model_path, model_file, columns):
    """Read ``data`` with the columns the model was fitted on; check the number of features."""
    wanted = parse_columns(columns)
    names = model_file.feature_names
    n_features = model_file.model.n_features_in_
    fitted = f" ({', '.join(names)})" if names else ""

    def mismatch(n_columns):
        return DataError(
            f"{data}: has {n_columns} column(s) but {model_path} was fitted on {n_features} "
            f"feature(s){fitted}; choose columns with --columns."
        )

    if wanted is None and names:
        available, has_header = peek_columns(data)
        if has_header:
            missing = [name for name in names if name not in available]
            if missing and len(available) != n_features:
                raise mismatch(len(available))
            if missing:
                raise DataError(
                    f"{data}: has no column {', '.join(map(repr, missing))}, which {model_path} "
                    "was fitted on; choose columns with --columns."
                )
            wanted = list(names)
    table = read_table(data, wanted)
    if table.X.shape[1] != n_features:
        raise mismatch(table.X.shape[1])
    return table


def _standardized(table, scratch_dirs=()):
    """``(Z, center, scale)`` with ``Z = (X - center) / scale`` per column.

    A memory-mapped ``.npy`` input gets a memory-mapped ``Z`` too: an anonymous temporary file in
    the first writable folder of ``scratch_dirs`` (then the system's temporary folder), filled
    block by block and gone when the process ends, so a file larger than memory can be fitted
    standardized.
    """
    X = table.X
    chunk = _BLOCK_ROWS  # two passes over blocks of rows: no full-size temporary for big files
    center = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], chunk):
        center += np.sum(X[start : start + chunk], axis=0, dtype=np.float64)
    center /= X.shape[0]
    variance = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], chunk):
        variance += np.sum((X[start : start + chunk] - center) ** 2, axis=0)
    scale = np.sqrt(variance / X.shape[0])
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
_BLOCK_ROWS = 1 << 16


def _check_rows(table, n_components):
    n_rows = table.X.shape[0]
    need = max(2, n_components)
    if n_rows < need:
        raise DataError(
            f"{table.path}: {n_rows} row(s) are too few to fit {n_components} component(s); "
            f"at least {need} are needed."
        )


def _labels_path(path):
    stem, ext = os.path.splitext(path)
    return f"{stem}.labels{ext}"


# ---------------------------------------------------------------------- generate
@cli.command(epilog=examples(
    "gaussmix generate -n 1000 -k 3 -o data.csv",
    "gaussmix generate -n 2000 -k 4 -d 3 --overlap 0.02 --truth truth.npz -o data.parquet",
))
@click.option("-o", "--output", required=True, callback=table_output, metavar="OUT",
              help="Data file to write: .csv, .tsv, .parquet or .npy ('-' for CSV on stdout).")
@click.option("-n", "--n-samples", default=1000, show_default=True, type=click.IntRange(1),
              help="Number of points.")
@click.option("-k", "--n-components", default=3, show_default=True, type=click.IntRange(1),
              help="Number of mixture components.")
@click.option("-d", "--n-features", default=2, show_default=True, type=click.IntRange(1),
              help="Number of features (columns x0, x1, ...).")
@click.option("--overlap", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Average pairwise overlap of the components (default 0.05; 0.001 well "
              "separated, 0.2 heavily overlapping).")
@click.option("--covariance", "covariance_type", default="full", show_default=True,
              type=COVARIANCE_CHOICES, help="Shape of the true covariances.")
@click.option("--random-weights", is_flag=True, help="Unequal component weights (default equal).")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@click.option("--labels", "labels_path", callback=table_output, metavar="PATH",
              help="Where to write the true component of each row (default: OUT with .labels "
              "before the extension, e.g. data.labels.csv).")
@click.option("--no-labels", is_flag=True, help="Do not write the labels.")
@click.option("--truth", "truth_path", callback=existing_directory, metavar="MODEL",
              help="Also save the true mixture as a model file (usable with predict/score/plot).")
@_quiet_option
@fail_cleanly
def generate(output, n_samples, n_components, n_features, overlap, covariance_type,
             random_weights, seed, labels_path, no_labels, truth_path, quiet):
    """Draw data from a random Gaussian mixture and write it with its labels."""
    from .generate import make_mixture

    X, y, truth = make_mixture(
        n_samples, n_components, n_features, overlap=overlap, covariance_type=covariance_type,
        weights="random" if random_weights else None, random_state=seed,
    )
    names = [f"x{i}" for i in range(n_features)]
    if no_labels:
        labels_path = None
    elif labels_path is None and output != "-":
        labels_path = _labels_path(output)
    write_table(output, dict(zip(names, X.T)))
    if labels_path is not None:
        write_table(labels_path, {"label": y})
    if truth_path is not None:
        from .io import save

        save(truth, truth_path, feature_names=names)
    _, err = consoles(quiet)
    wrote = f"{n_samples} rows x {n_features} features to {output if output != '-' else 'stdout'}"
    if labels_path:
        wrote += f", labels to {labels_path}"
    if truth_path:
        wrote += f", true mixture to {truth_path}"
    overlap_text = "" if n_components == 1 else f", average overlap {truth.overlap_:.3g}"
    err.print(f"wrote {wrote} ({n_components} {covariance_type} components{overlap_text})",
              highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------- fit
def _fit_options(func):
    options = [
        click.option("--covariance", "covariance_types", multiple=True, type=COVARIANCE_CHOICES,
                     help="Covariance type (repeat to compare several when selecting; default "
                     "full for one K, all four for a range or auto)."),
        click.option("--n-init", type=click.IntRange(1),
                     help="EM starts per model; the best is kept (default 1 for a single fit, "
                     "5 per candidate when selecting)."),
        click.option("--max-iter", default=100, show_default=True, type=click.IntRange(1),
                     help="EM iterations per start."),
        click.option("--tol", default=1e-3, show_default=True, type=click.FloatRange(0),
                     help="Stop when the mean log-likelihood improves by less than this."),
        click.option("--reg-covar", default=1e-6, show_default=True, type=click.FloatRange(0),
                     help="Added to covariance diagonals."),
        click.option("--seed", default=0, show_default=True, type=int, help="Random seed."),
        _columns_option,
        click.option("--standardize", is_flag=True,
                     help="Fit on columns scaled to mean 0 and variance 1; the scaling is stored "
                     "in the model and applied by predict, score and plot."),
        _quiet_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _fit_settings(n_init, max_iter, tol, reg_covar, seed):
    return {"n_init": n_init, "max_iter": max_iter, "tol": tol, "reg_covar": reg_covar,
            "random_state": seed}


def _prepare(data, columns, standardize, n_components, outputs=()):
    """Read DATA; with ``standardize``, also its standardized copy (memory-mapped for a
    memory-mapped file, in the folder of the first writable path in ``outputs`` or DATA's)."""
    table = read_table(data, parse_columns(columns))
    _check_rows(table, n_components)
    center = scale = None
    Z = table.X
    if standardize:
        folders = [os.path.dirname(os.path.abspath(p)) for p in (*outputs, data)
                   if p and p != "-"]
        Z, center, scale = _standardized(table, folders)
    return table, Z, center, scale


def _run_selection(table, Z, ks, covariance_types, criterion, settings, quiet):
    """Fit every (K, covariance type) with :func:`gaussmix.select_model` (its own progress bar)."""
    from .select import select_model

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


@cli.command(epilog=examples(
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
        seed, columns, standardize, quiet):
    """Fit a Gaussian mixture to the numeric columns of DATA and save it.

    DATA is a .csv/.tsv (header detected), .parquet or .npy file. Prints the weights and means
    of the components and the fit's BIC.
    """
    from .io import save
    from .mixture import GaussianMixture

    settings = _fit_settings(n_init, max_iter, tol, reg_covar, seed)
    single = components != "auto" and len(components) == 1
    if single and len(set(covariance_types)) > 1:
        raise click.UsageError("Give one --covariance for a single K, or a range of K.")
    smallest = 1 if components == "auto" else components[0]
    table, Z, center, scale = _prepare(data, columns, standardize, smallest, (output,))
    selection = None
    if single:
        k = components[0]
        ctype = covariance_types[0] if covariance_types else "full"
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
            _check_rows(table, max(ks))
        ctypes = list(dict.fromkeys(covariance_types)) or ["full", "tied", "diag", "spherical"]
        selection = _run_selection(table, Z, ks, ctypes, criterion, settings, quiet)
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
    show = table.names if len(table.names) <= 8 else None
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


# ---------------------------------------------------------------------- predict / score
@cli.command(epilog=examples(
    "gaussmix predict new.csv -m model.npz -o labels.csv",
    "gaussmix predict big.npy -m model.npz -o labels.parquet",
))
@click.argument("data", metavar="DATA")
@_model_option
@_table_output_option
@_columns_option
@_quiet_option
@fail_cleanly
def predict(data, model_path, output, columns, quiet):
    """Assign each row of DATA to a component of MODEL.

    Writes one row per input row: 'label' (the most probable component), 'probability' (its
    posterior probability) and 'p_0', 'p_1', ... (every component's probability).
    """
    model_file = _read_model_file(model_path)
    table = _read_for_model(data, model_path, model_file, columns)
    n_rows, n_components = table.X.shape[0], model_file.model.n_components
    counts = np.zeros(n_components, dtype=np.int64)

    def blocks():  # one block of rows at a time: a file larger than memory streams through
        for rows in _row_blocks(table.X):
            proba = model_file.model.predict_proba(model_file.transform(rows))
            labels = np.argmax(proba, axis=1)
            counts[:] += np.bincount(labels, minlength=n_components)
            result = {"label": labels, "probability": proba[np.arange(len(labels)), labels]}
            result.update({f"p_{k}": proba[:, k] for k in range(n_components)})
            yield result

    write_table_chunks(output, blocks(), n_rows)
    _, err = consoles(quiet or output == "-")
    err.print(f"wrote {n_rows} predictions to {output} (rows per component: "
              f"{', '.join(map(str, counts))})", highlight=False, soft_wrap=True)


def _row_blocks(X):
    """Consecutive blocks of at most ``_BLOCK_ROWS`` rows of ``X``."""
    for start in range(0, X.shape[0], _BLOCK_ROWS):
        yield X[start : start + _BLOCK_ROWS]


@cli.command(epilog=examples(
    "gaussmix score data.csv -m model.npz --contamination 0.01 -o scores.csv",
    "gaussmix score new.parquet -m model.npz --threshold -12.5 -o -",
))
@click.argument("data", metavar="DATA")
@_model_option
@_table_output_option
@click.option("--contamination", type=click.FloatRange(0, 0.5, min_open=True),
              help="Flag this fraction of rows with the lowest log-density as anomalies.")
@click.option("--threshold", type=float,
              help="Flag rows whose log-density is below this value as anomalies.")
@_columns_option
@_quiet_option
@fail_cleanly
def score(data, model_path, output, contamination, threshold, columns, quiet):
    """Log-density of each row of DATA under MODEL, optionally flagging anomalies.

    Writes 'log_density' (natural log, in the units of the data columns) per row, and with
    --contamination or --threshold also 'anomaly' (1 for flagged rows, else 0).
    """
    if contamination is not None and threshold is not None:
        raise click.UsageError("Give --contamination or --threshold, not both.")
    model_file = _read_model_file(model_path)
    table = _read_for_model(data, model_path, model_file, columns)
    log_density = np.concatenate([  # block by block: no standardized copy of a big file
        model_file.model.score_samples(model_file.transform(rows)).astype(np.float64)
        for rows in _row_blocks(table.X)
    ])
    log_density += model_file.log_jacobian()
    result = {"log_density": log_density}
    _, err = consoles(quiet or output == "-")
    if contamination is not None or threshold is not None:
        if contamination is not None:
            n_flag = int(np.floor(contamination * len(log_density) + 0.5))
            flagged = np.zeros(len(log_density), dtype=bool)
            if n_flag:
                flagged[np.argsort(log_density, kind="stable")[:n_flag]] = True
                threshold_text = f"log-density <= {log_density[flagged].max():.6g}"
            else:
                threshold_text = "none flagged"
        else:
            flagged = log_density < threshold
            threshold_text = f"log-density < {threshold:g}"
        result["anomaly"] = flagged.astype(np.int8)
    write_table(output, result)
    message = f"wrote {len(log_density)} log-densities to {output}"
    if "anomaly" in result:
        message += f"; {int(result['anomaly'].sum())} anomalies ({threshold_text})"
    err.print(message, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------- select
@cli.command(epilog=examples(
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
           max_iter, tol, reg_covar, seed, columns, standardize, quiet):
    """Compare mixtures over K and covariance types by BIC, AIC or ICL.

    Prints one row per fit, best first (criteria in the units of the data columns, lower is
    better); degenerate fits (a component on too few rows) and failed fits are listed but never
    chosen.
    """
    if output is not None and data_format(output) == "npy":
        raise click.BadParameter("the table has text columns; use .csv, .tsv or .parquet.",
                                 param_hint="'-o' / '--output'")
    settings = _fit_settings(n_init, max_iter, tol, reg_covar, seed)
    table, Z, center, scale = _prepare(data, columns, standardize, 1, (save_best, output))
    ks = _selection_ks(table, components)
    _check_rows(table, max(ks))
    ctypes = list(dict.fromkeys(covariance_types)) or ["full", "tied", "diag", "spherical"]
    selection = _run_selection(table, Z, ks, ctypes, criterion, settings, quiet)
    frame = _selection_frame(selection, Z, scale)
    if output is not None:
        write_table(output, {name: frame[name].to_numpy() for name in frame.columns})
    if plot_path is not None:
        if scale is not None:  # draw the raw-unit criteria
            selection.table = frame
        save_figure(plot_path, selection.plot)
    if save_best is not None:
        from .io import save

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
        is_best = index == selection.best_index_
        view.add_row(*cells, style="bold" if is_best else None)
    console.print(view)


# ---------------------------------------------------------------------- plot
@cli.command(epilog=examples(
    "gaussmix plot data.csv -m model.npz -o fit.png",
    "gaussmix plot wide.parquet -m model.npz --pca -o fit.svg",
))
@click.argument("data", metavar="DATA")
@_model_option
@click.option("-o", "--output", required=True, callback=image_output, metavar="IMAGE",
              help="Picture to write (.png, .pdf, .svg, .jpg).")
@click.option("--title", help="Title of the picture (default: a description of the model).")
@click.option("--pca", is_flag=True,
              help="With more than two columns, show the two leading principal axes instead of "
              "the first two columns.")
@_columns_option
@_quiet_option
@fail_cleanly
def plot(data, model_path, output, title, pca, columns, quiet):
    """Draw DATA coloured by component, with MODEL's ellipses, in the units of the data."""
    from .plot import plot_mixture

    model_file = _read_model_file(model_path)
    table = _read_for_model(data, model_path, model_file, columns)
    model = model_file.raw_model()

    def draw():
        ax = plot_mixture(
            model, np.asarray(table.X), feature_names=table.names, title=title,
            projection="pca" if pca and table.X.shape[1] > 2 else None,
        )
        return ax.get_figure()

    save_figure(output, draw)
    _, err = consoles(quiet)
    err.print(f"wrote {output}", highlight=False, soft_wrap=True)


def main(argv=None):
    """Entry point of the ``gaussmix`` script and ``python -m gaussmix``."""
    cli.main(args=argv, prog_name="gaussmix")


if __name__ == "__main__":
    main()
