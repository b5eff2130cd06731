"""``gaussmix outliers``: rows of a data file screened by ``MixtureOutlierDetector``."""

from __future__ import annotations

import click

from ..io.formats import parse_columns
from .options import (
    COVARIANCE_GRID_CHOICES,
    COVARIANCE_HELP,
    SEED_TYPE,
    ComponentsType,
    columns_option,
    consoles,
    covariance_grid,
    examples,
    fail_cleanly,
    progress,
    quiet_option,
    reported_warnings,
    table_output_option,
)
from .reading import read_data, table_options, with_ids


def _contamination(ctx, param, value):
    if value is None or value.strip().lower() == "auto":
        return "auto"
    try:
        number = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a fraction in (0, 0.5] or 'auto'.") from None
    if not 0.0 < number <= 0.5:
        raise click.BadParameter(f"{value!r} is not a fraction in (0, 0.5] or 'auto'.")
    return number


@click.command(epilog=examples(
    "gaussmix outliers data.csv --contamination 0.05 -o flagged.csv",
    "gaussmix outliers wide.parquet --contamination auto --pca 10 -o flagged.parquet",
))
@click.argument("data", metavar="DATA")
@click.option("--contamination", default="0.1", show_default=True, callback=_contamination,
              help="Fraction of rows to flag, or 'auto' (rows outside the model's 99% "
              "highest-density region).")
@table_output_option
@click.option("-k", "--n-components", "components", default="auto", show_default=True,
              type=ComponentsType(), help="Numbers of components tried by BIC (auto: 1-5).")
@click.option("--covariance", "covariance_types", multiple=True, type=COVARIANCE_GRID_CHOICES,
              help="Covariance types tried by BIC (repeatable; default full, tied, diag, "
              "spherical; " + COVARIANCE_HELP + ").")
@click.option("--pca", "n_pca", default=None, type=click.IntRange(1),
              help="Principal components of one mixture (fewer if there are fewer columns); "
              "default: an average over 1, 2, 3, 5, 8, 13, 21, 34 and all columns (those "
              "below the number of columns).")
@click.option("--standardize/--no-standardize", "standardize", default=None,
              help="Scale the columns to unit variance (columns in different units), or keep "
              "the data's units (columns in one unit, such as pixels); default: the units are "
              "kept only where a model in them fits the rows clearly better.")
@click.option("--seed", default=0, show_default=True, type=SEED_TYPE, help="Random seed.")
@click.option("--missing", default="error", show_default=True, type=click.Choice(["error", "em"]),
              help="Empty and NaN cells: 'error' refuses them; 'em' fits the mixture on the "
              "(scaled) columns by missing-value EM (no --pca projection) and scores each "
              "row on its observed cells.")
@columns_option
@table_options
@quiet_option
@fail_cleanly
def outliers(data, contamination, output, components, covariance_types, n_pca, standardize,
             seed, missing, columns, id_column, sep, decimal, quiet):
    """Flag the outlying rows of DATA with a trimmed, BIC-chosen Gaussian mixture.

    Writes one row per input row: 'score' (higher is more normal), 'decision' (score minus the
    threshold; negative for outliers) and 'outlier' (1 for flagged rows, else 0), after the
    ID column if the file has one.
    """
    import numpy as np

    from ..apps.anomaly import MixtureOutlierDetector
    from ..io.table_writing import write_table

    quiet_notes = quiet or output == "-"
    table = read_data(data, parse_columns(columns), quiet_notes, allow_missing=missing == "em",
                      id_column=id_column, sep=sep, decimal=decimal)
    detector = MixtureOutlierDetector(
        n_components="auto" if components == "auto" else components,
        covariance_type=covariance_grid(covariance_types), contamination=contamination,
        n_pca="auto" if n_pca is None else n_pca,
        standardize="auto" if standardize is None else standardize, random_state=seed,
        missing=missing,
    )
    with progress(f"Screening {data}", quiet), reported_warnings():
        detector.fit(table.X)
    score = detector.score_samples(table.X)
    flagged = score < detector.offset_
    write_table(output, with_ids(table, {"score": score, "decision": score - detector.offset_,
                                         "outlier": flagged.astype(np.int8)}, output))
    params = detector.selection_.best_params_
    _, err = consoles(quiet or output == "-")
    dims = [model.n_dims for model in detector.models_]
    columns = ("the standardized columns" if detector.standardized_
               else "the columns in their own units")
    projection = (columns if dims == [None]
                  else f"{', '.join(map(str, dims))} principal component(s) of {columns}")
    best = detector.best_model_.n_dims
    err.print(f"{data}: {int(flagged.sum())} of {len(score)} rows flagged (score < "
              f"{detector.offset_:.6g}; {len(dims)} model(s) on {projection}, the lowest "
              f"trimmed BIC a mixture of {params['n_components']} "
              f"{params.get('covariance_type', type(detector.mixture_).__name__)}"
              f"{'' if best is None else f' on {best}'}, {int(detector.support_.sum())} "
              f"rows kept); wrote {output}",
              highlight=False, soft_wrap=True)
