"""The ``gaussmix`` command line: one verb per job.

The group and the entry point live here; the verbs in :mod:`.generating` (``demo``,
``generate``), :mod:`.fitting` (``fit``, ``select``), :mod:`.predict_score_plot`
(``predict``, ``score``, ``plot``: a saved model applied to data), :mod:`.segmenting`
(``segment``), :mod:`.speaker_verbs` (``speaker`` and its sub-verbs), :mod:`.exploring`
(``explore``) and :mod:`.detecting` (``outliers``); their shared plumbing is in :mod:`.options`,
:mod:`.reading` (data files), :mod:`.terminal_tables` (tables that fit a terminal) and
:mod:`.optional_extras` (errors naming a missing extra), and ``gaussmix demo``'s work in
:mod:`.demo`.
"""

from __future__ import annotations

import click

from .._version import __version__
from . import (
    detecting,
    exploring,
    fitting,
    generating,
    predict_score_plot,
    segmenting,
    speaker_verbs,
)
from .options import SafeMessages

__all__ = ["cli", "main"]


@click.group(cls=SafeMessages, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gaussmix")
def cli():
    """Gaussian mixture models: generate data, fit, predict, score and see them.

    Data files are .csv/.tsv (header, separator and decimal comma detected), .parquet or
    .npy; text columns are skipped and an ID column is carried into per-row outputs (--id).
    Exit status: 0 on success, 1 for bad data or model files, 2 for bad usage.

    \b
    Examples:
      gaussmix demo
      gaussmix generate -n 1000 -k 3 -o data.csv
      gaussmix fit data.csv -k auto --standardize -o model.npz
      gaussmix predict data.csv -m model.npz -o labels.csv
      gaussmix score data.csv -m model.npz --contamination 0.01 -o scores.csv
      gaussmix outliers data.csv --contamination 0.05 -o flagged.csv
      gaussmix select data.csv -k 1-8 --plot bic.png
      gaussmix plot data.csv -m model.npz -o fit.png
      gaussmix segment photo.jpg -k 4 -o segments.png
      gaussmix speaker enroll alice alice*.wav --ubm ubm.npz -o models/
      gaussmix explore
    """


for _command in (generating.demo, generating.generate, fitting.fit, predict_score_plot.predict,
                 predict_score_plot.score, fitting.select, predict_score_plot.plot,
                 segmenting.segment, speaker_verbs.speaker,
                 exploring.explore, detecting.outliers):
    cli.add_command(_command)
del _command


def main(argv=None):
    """Entry point of the ``gaussmix`` script and ``python -m gaussmix``."""
    cli.main(args=argv, prog_name="gaussmix")


if __name__ == "__main__":
    main()
