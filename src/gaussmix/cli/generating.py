"""``gaussmix demo`` and ``gaussmix generate``: mixtures made, learned and shown."""

from __future__ import annotations

import os

import click

from .options import (
    COVARIANCE_CHOICES,
    COVARIANCE_HELP,
    SEED_TYPE,
    FiniteFloatRange,
    consoles,
    examples,
    existing_directory,
    fail_cleanly,
    quiet_option,
    table_output,
)


@click.command()
@click.option("-k", "--n-components", default=3, show_default=True, type=click.IntRange(2, 20),
              help="Number of mixture components.")
@click.option("-n", "--n-samples", default=600, show_default=True, type=click.IntRange(10),
              help="Number of points.")
@click.option("--overlap", default=0.05, show_default=True,
              type=FiniteFloatRange(0, 1, min_open=True, max_open=True),
              help="Average pairwise overlap of the true components (0.001 well separated, "
              "0.2 heavily overlapping).")
@click.option("--covariance", "covariance_type", default="full", show_default=True,
              type=COVARIANCE_CHOICES,
              help="Covariance type of the truth and of the fit (" + COVARIANCE_HELP + ").")
@click.option("--seed", default=0, show_default=True, type=SEED_TYPE,
              help="Same seed, same pictures.")
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
    from ..io.writing import all_or_nothing, remove_temporaries_on_signals
    from .demo import run_demo

    remove_temporaries_on_signals()
    try:
        with all_or_nothing():  # both pictures or neither
            run_demo(n_components, n_samples, covariance_type, seed, overlap=overlap,
                     out_dir=output_dir, animate=not no_animation)  # fmt: skip
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


def _labels_path(path):
    stem, ext = os.path.splitext(path)
    return f"{stem}.labels{ext}"


# ---------------------------------------------------------------------- generate
@click.command(epilog=examples(
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
@click.option("--overlap", type=FiniteFloatRange(0, 1, min_open=True, max_open=True),
              help="Average pairwise overlap of the components (default 0.05; 0.001 well "
              "separated, 0.2 heavily overlapping).")
@click.option("--covariance", "covariance_type", default="full", show_default=True,
              type=COVARIANCE_CHOICES, help="Shape of the true covariances (" + COVARIANCE_HELP + ").")
@click.option("--random-weights", is_flag=True, help="Unequal component weights (default equal).")
@click.option("--seed", default=0, show_default=True, type=SEED_TYPE, help="Random seed.")
@click.option("--labels", "labels_path", callback=table_output, metavar="PATH",
              help="Where to write the true component of each row (default: OUT with .labels "
              "before the extension, e.g. data.labels.csv).")
@click.option("--no-labels", is_flag=True, help="Do not write the labels.")
@click.option("--truth", "truth_path", callback=existing_directory, metavar="MODEL",
              help="Also save the true mixture as a model file (usable with predict/score/plot).")
@quiet_option
@fail_cleanly
def generate(output, n_samples, n_components, n_features, overlap, covariance_type,
             random_weights, seed, labels_path, no_labels, truth_path, quiet):
    """Draw data from a random Gaussian mixture and write it with its labels."""
    from ..datasets.generate import make_mixture
    from ..io.table_writing import write_table

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
        from ..io import save

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
