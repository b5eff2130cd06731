"""The ``gaussmix`` command line: one verb per job."""

from __future__ import annotations

import click

from ._version import __version__

COVARIANCE_CHOICES = click.Choice(["full", "tied", "diag", "spherical"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gaussmix")
def cli():
    """Gaussian mixture models: generate data, fit, predict, score and see them.

    \b
    Examples:
      gaussmix demo
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


def main(argv=None):
    """Entry point of the ``gaussmix`` script and ``python -m gaussmix``."""
    cli.main(args=argv, prog_name="gaussmix")


if __name__ == "__main__":
    main()
