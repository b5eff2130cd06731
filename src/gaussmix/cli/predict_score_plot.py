"""``gaussmix predict``, ``score`` and ``plot``: a saved model applied to a data file."""

from __future__ import annotations

import click

from ..io.formats import DataError, parse_columns
from . import options
from .options import (
    CliError,
    FiniteFloatRange,
    columns_option,
    consoles,
    examples,
    fail_cleanly,
    image_output,
    model_option,
    quiet_option,
    save_figure,
    table_output_option,
)
from .reading import read_data, table_options, with_ids


def _read_model_file(path):
    from ..io import read_model

    try:
        return read_model(path)
    except FileNotFoundError:
        raise CliError(f"{path}: no such model file.") from None


def _read_for_model(data, model_path, model_file, columns, quiet, reading):
    """Read ``data`` with the columns the model was fitted on; check the number of features.

    Rows with missing cells are kept (every per-row output has one row per input row):
    :func:`_usable` says which the model can score.
    """
    from ..io.tables import peek_columns

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
        available, has_header = peek_columns(data, reading["sep"], reading["decimal"])
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
    table = read_data(data, wanted, quiet, allow_missing="rows", **reading)
    if table.X.shape[1] != n_features:
        raise mismatch(table.X.shape[1])
    return table


def _usable(model, X):
    """Rows ``model`` can score: complete ones, or, for a model fitted with missing values
    (``--missing em``), every row with at least one observed cell."""
    import numpy as np

    missing = np.isnan(X)
    if getattr(model, "missing", "error") == "em":
        return ~missing.all(axis=1)
    return ~missing.any(axis=1)


def _say_unscored(n_unscored, data, model, what, quiet):
    if n_unscored and not quiet:
        advice = ("" if getattr(model, "missing", "error") == "em"
                  else "; a model fitted with 'gaussmix fit --missing em' scores them")
        click.echo(f"gaussmix: note: {data}: {n_unscored} row(s) with missing cells could not be "
                   f"scored; they are written with {what}{advice}.", err=True)


def _reading(id_column, sep, decimal):
    return {"id_column": id_column, "sep": sep, "decimal": decimal}


# ---------------------------------------------------------------------- predict / score
@click.command(epilog=examples(
    "gaussmix predict new.csv -m model.npz -o labels.csv",
    "gaussmix predict big.npy -m model.npz -o labels.parquet",
))
@click.argument("data", metavar="DATA")
@model_option
@table_output_option
@columns_option
@table_options
@quiet_option
@fail_cleanly
def predict(data, model_path, output, columns, id_column, sep, decimal, quiet):
    """Assign each row of DATA to a component of MODEL.

    Writes one row per input row: 'label' (the most probable component), 'probability' (its
    posterior probability) and 'p_0', 'p_1', ... (every component's probability), after
    the ID column if the file has one. Rows the model cannot score (missing cells) get label
    -1 and empty probabilities.
    """
    import numpy as np

    from ..io.table_writing import write_table_chunks

    model_file = _read_model_file(model_path)
    quiet = quiet or output == "-"
    table = _read_for_model(data, model_path, model_file, columns, quiet,
                            _reading(id_column, sep, decimal))
    n_rows, n_components = table.X.shape[0], model_file.model.n_components
    n_columns = model_file.model._n_columns()  # a noise component's probability is the last
    counts = np.zeros(n_columns, dtype=np.int64)
    unscored = [0]

    def blocks():  # one block of rows at a time: a file larger than memory streams through
        for start in range(0, n_rows, options.BLOCK_ROWS):
            rows = np.asarray(table.X[start : start + options.BLOCK_ROWS])
            ok = _usable(model_file.model, rows)
            if ok.all():  # no copy of the block in the usual case
                proba = model_file.model.predict_proba(model_file.transform(rows))
            else:
                proba = np.full((len(rows), n_columns), np.nan)
                if ok.any():
                    proba[ok] = model_file.model.predict_proba(model_file.transform(rows[ok]))
            best = np.argmax(np.nan_to_num(proba, nan=0.0), axis=1)
            counts[:] += np.bincount(best[ok], minlength=n_columns)
            unscored[0] += int((~ok).sum())
            picked = proba[np.arange(len(best)), best]
            labels = np.where(ok & (best < n_components), best, -1)  # noise: -1
            result = {"label": labels, "probability": np.where(ok, picked, np.nan)}
            result.update({f"p_{k}": proba[:, k] for k in range(n_components)})
            if n_columns > n_components:
                result["p_noise"] = proba[:, n_components]
            yield with_ids(table, result, output, slice(start, start + len(rows)))

    write_table_chunks(output, blocks(), n_rows)
    _say_unscored(unscored[0], data, model_file.model, "label -1", quiet)
    _, err = consoles(quiet)
    noise = f"; noise (label -1): {counts[n_components]}" if n_columns > n_components else ""
    err.print(f"wrote {n_rows} predictions to {output} (rows per component: "
              f"{', '.join(map(str, counts[:n_components]))}{noise})", highlight=False,
              soft_wrap=True)


@click.command(epilog=examples(
    "gaussmix score data.csv -m model.npz --contamination 0.01 -o scores.csv",
    "gaussmix score new.parquet -m model.npz --threshold -12.5 -o -",
))
@click.argument("data", metavar="DATA")
@model_option
@table_output_option
@click.option("--contamination", type=FiniteFloatRange(0, 0.5, min_open=True),
              help="Flag this fraction of rows with the lowest log-density as anomalies "
              "(the threshold of MixtureOutlierDetector's offset_).")
@click.option("--threshold", type=FiniteFloatRange(),
              help="Flag rows whose log-density is below this value as anomalies.")
@columns_option
@table_options
@quiet_option
@fail_cleanly
def score(data, model_path, output, contamination, threshold, columns, id_column, sep, decimal,
          quiet):
    """Log-density of each row of DATA under MODEL, optionally flagging anomalies.

    Writes 'log_density' (natural log, in the units of the data columns) per row, and with
    --contamination or --threshold also 'anomaly' (1 for flagged rows, else 0).
    """
    import numpy as np

    from ..io.table_writing import write_table

    if contamination is not None and threshold is not None:
        raise click.UsageError("Give --contamination or --threshold, not both.")
    model_file = _read_model_file(model_path)
    quiet = quiet or output == "-"
    table = _read_for_model(data, model_path, model_file, columns, quiet,
                            _reading(id_column, sep, decimal))
    log_density = np.full(table.X.shape[0], np.nan)
    for start in range(0, table.X.shape[0], options.BLOCK_ROWS):  # no standardized copy of a big file
        rows = np.asarray(table.X[start : start + options.BLOCK_ROWS])
        ok = _usable(model_file.model, rows)
        if not ok.all():
            rows = rows[ok]
        # raw-unit density: the Jacobian of each row's observed columns
        log_density[start : start + len(ok)][ok] = (
            model_file.model.score_samples(model_file.transform(rows))
            + (model_file.log_jacobian(rows) if model_file.standardized else 0.0)
        ) if len(rows) else []
    scored = ~np.isnan(log_density)
    _say_unscored(int((~scored).sum()), data, model_file.model, "an empty log_density", quiet)
    result = {"log_density": log_density}
    _, err = consoles(quiet)
    if contamination is not None or threshold is not None:
        if contamination is not None:  # MixtureOutlierDetector's rule for its offset_
            from ..apps.anomaly.rules import contamination_offset

            threshold = contamination_offset(log_density[scored], contamination)
            flagged = log_density < threshold
            threshold_text = (f"log-density < {threshold:.6g}" if flagged.any()
                              else "none flagged")
        else:
            flagged = log_density < threshold
            threshold_text = f"log-density < {threshold:g}"
        result["anomaly"] = flagged.astype(np.int8)
    write_table(output, with_ids(table, result, output))
    message = f"wrote {len(log_density)} log-densities to {output}"
    if "anomaly" in result:
        message += f"; {int(result['anomaly'].sum())} anomalies ({threshold_text})"
    err.print(message, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------- plot
@click.command(epilog=examples(
    "gaussmix plot data.csv -m model.npz -o fit.png",
    "gaussmix plot wide.parquet -m model.npz --pca -o fit.svg",
))
@click.argument("data", metavar="DATA")
@model_option
@click.option("-o", "--output", required=True, callback=image_output, metavar="IMAGE",
              help="Picture to write (.png, .pdf, .svg, .jpg).")
@click.option("--title", help="Title of the picture (default: a description of the model).")
@click.option("--pca", is_flag=True,
              help="With more than two columns, show the two leading principal axes instead of "
              "the first two columns.")
@columns_option
@table_options
@quiet_option
@fail_cleanly
def plot(data, model_path, output, title, pca, columns, id_column, sep, decimal, quiet):
    """Draw DATA coloured by component, with MODEL's ellipses, in the units of the data.

    Rows with missing cells cannot be placed in the picture and are left out (with a note).
    """
    import numpy as np

    from ..viz import plot_mixture

    model_file = _read_model_file(model_path)
    table = _read_for_model(data, model_path, model_file, columns, quiet,
                            _reading(id_column, sep, decimal))
    model = model_file.raw_model()
    X = np.asarray(table.X)
    complete = ~np.isnan(X).any(axis=1)
    if not complete.any():
        raise DataError(f"{data}: every row has a missing cell; nothing to draw.")
    if not complete.all() and not quiet:
        click.echo(f"gaussmix: note: {data}: {int((~complete).sum())} row(s) with missing cells "
                   "are not drawn.", err=True)
    X = X[complete]

    def draw():
        ax = plot_mixture(
            model, X, feature_names=table.names, title=title,
            projection="pca" if pca and X.shape[1] > 2 else None,
        )
        return ax.get_figure()

    save_figure(output, draw)
    _, err = consoles(quiet)
    err.print(f"wrote {output}", highlight=False, soft_wrap=True)
