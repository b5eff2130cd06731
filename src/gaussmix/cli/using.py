"""``gaussmix predict``, ``score`` and ``plot``: a saved model applied to a data file."""

from __future__ import annotations

import click
import numpy as np

from ..io.formats import DataError, parse_columns
from ..io.tables import peek_columns, read_table
from ..io.writing import write_table, write_table_chunks
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
    row_blocks,
    save_figure,
    table_output_option,
)


def _read_model_file(path):
    from ..io import read_model

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
    allow_missing = getattr(model_file.model, "missing", "error") == "em"
    table = read_table(data, wanted, allow_missing=allow_missing)
    if table.X.shape[1] != n_features:
        raise mismatch(table.X.shape[1])
    return table


# ---------------------------------------------------------------------- predict / score
@click.command(epilog=examples(
    "gaussmix predict new.csv -m model.npz -o labels.csv",
    "gaussmix predict big.npy -m model.npz -o labels.parquet",
))
@click.argument("data", metavar="DATA")
@model_option
@table_output_option
@columns_option
@quiet_option
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
        for rows in row_blocks(table.X):
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
@quiet_option
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
        for rows in row_blocks(table.X)
    ])
    log_density += model_file.log_jacobian()
    result = {"log_density": log_density}
    _, err = consoles(quiet or output == "-")
    if contamination is not None or threshold is not None:
        if contamination is not None:  # MixtureOutlierDetector's rule for its offset_
            from ..apps.anomaly.rules import contamination_offset

            threshold = contamination_offset(log_density, contamination)
            flagged = log_density < threshold
            threshold_text = (f"log-density < {threshold:.6g}" if flagged.any()
                              else "none flagged")
        else:
            flagged = log_density < threshold
            threshold_text = f"log-density < {threshold:g}"
        result["anomaly"] = flagged.astype(np.int8)
    write_table(output, result)
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
@quiet_option
@fail_cleanly
def plot(data, model_path, output, title, pca, columns, quiet):
    """Draw DATA coloured by component, with MODEL's ellipses, in the units of the data."""
    from ..viz import plot_mixture

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
