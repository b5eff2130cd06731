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
@click.option("-k", "--n-components", default=3, show_default=True, type=click.IntRange(1, 20))
@click.option("-n", "--n-samples", default=600, show_default=True, type=click.IntRange(10))
@click.option("--covariance", "covariance_type", default="full", show_default=True, type=COVARIANCE_CHOICES)
@click.option("--seed", default=0, show_default=True, type=int)
def demo(n_components, n_samples, covariance_type, seed):
    """Generate a 2-D mixture, fit it, and print true vs learned parameters."""
    from .demo import run_demo

    run_demo(n_components, n_samples, covariance_type, seed)


def main(argv=None):
    """Entry point of the ``gaussmix`` script and ``python -m gaussmix``."""
    cli.main(args=argv, prog_name="gaussmix")


if __name__ == "__main__":
    main()
