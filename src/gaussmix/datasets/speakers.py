"""A small synthetic speaker corpus: eSpeak NG voices as speakers (shipped, 8 kHz FLAC, 400 kB).

Made by ``examples/make_speaker_corpus.py``, which says exactly how: eight target speakers (an
English accent and a voice variant each) with four enrolment and four test utterances each
(different sentences), and six background speakers with three utterances each; every utterance
has its own speed, pitch, band-pass "telephone" channel and noise level. **The speech is
synthetic** (a formant synthesiser, not people).
"""

from __future__ import annotations

import csv
import os
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from .._typing import PathLike

__all__ = ["load_speakers"]


def load_speakers(folder: PathLike | None = None) -> pd.DataFrame:
    """The shipped speaker corpus: one row per utterance.

    Parameters
    ----------
    folder : str or path-like, default=None
        Another corpus laid out the same way (a ``speakers.csv`` manifest next to the audio
        files), e.g. one remade by ``examples/make_speaker_corpus.py --out``.

    Returns
    -------
    pandas.DataFrame
        Columns ``path`` (absolute path of the audio file: mono 8 kHz FLAC), ``speaker``,
        ``role`` (``"enrol"``, ``"test"`` or ``"background"``), ``text`` (the sentence), and
        the synthesis settings (``voice``, ``speed_wpm``, ``pitch``, ``low_hz``, ``high_hz``,
        ``snr_db``, ``gain_db``, ``seconds``).

    Examples
    --------
    >>> from gaussmix.datasets import load_speakers
    >>> corpus = load_speakers()
    >>> corpus.groupby("role")["speaker"].nunique().to_dict()
    {'background': 6, 'enrol': 8, 'test': 8}
    >>> corpus.loc[0, ["speaker", "role", "text"]].tolist()
    ['us-m1', 'enrol', 'Bring the kettle inside.']
    """
    import pandas as pd

    if folder is None:
        folder = str(resources.files(__package__).joinpath("speakers"))
    folder = os.path.abspath(os.fspath(folder))
    manifest = os.path.join(folder, "speakers.csv")
    if not os.path.isfile(manifest):
        raise FileNotFoundError(2, "no speakers.csv manifest in the corpus folder", folder)
    with open(manifest, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    frame = pd.DataFrame(rows)
    frame.insert(0, "path", [os.path.join(folder, name) for name in frame.pop("file")])
    for column in ("speed_wpm", "pitch", "low_hz", "high_hz"):
        frame[column] = frame[column].astype(int)
    for column in ("snr_db", "gain_db", "seconds"):
        frame[column] = frame[column].astype(float)
    return frame
