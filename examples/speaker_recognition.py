"""Speaker recognition with a GMM-UBM on the shipped synthetic corpus: MAP against scratch.

The corpus (``gaussmix.datasets.load_speakers``, made by ``examples/make_speaker_corpus.py``) is
**synthetic speech**: eight espeak-ng voices as target speakers, six others as background
speakers, 8 kHz with a random band-pass channel and noise per utterance.

1. Features: 13 MFCCs and their deltas per 10 ms frame, silence dropped, cepstral mean
   normalisation (``gaussmix.apps.speaker.file_features``).
2. A 64-component diagonal UBM trained on the six background speakers only.
3. For 1, 2 and 4 enrolment utterances per speaker (about 1.3 s each), every target speaker is
   enrolled twice: MAP-adapted from the UBM (means, relevance factor 16), and as a diagonal
   mixture fitted from scratch on the same frames (2, 4, 8 or 16 components; the table shows
   the size that did best on the test utterances, an optimistic baseline). With fewer
   utterances than available, each disjoint set of that many is used in turn and the results
   pooled.
4. The 32 held-out test utterances (about 1 s each, sentences never used for enrolment) are
   scored against every model: the mean log-likelihood ratio against the UBM (top-5 components
   for MAP models, exact for scratch ones). Identification accuracy: the best-scoring model is
   the speaker's (chance 1/8). Verification equal error rate: over the target trials (utterance
   against its own speaker) and non-target trials (against the seven others).

Writes ``docs/images/speaker_det.png`` (DET curves, and the score distributions of MAP with one
utterance) and prints the README's table. Run from the repository root (about half a minute)::

    python examples/speaker_recognition.py [--out PICTURE] [--quick]

``--quick`` (a smoke run): one enrolment utterance, a 16-component UBM, scratch K = 2 or 4.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm

import gaussmix as gm
from gaussmix.apps import speaker

OUT = Path(__file__).resolve().parent.parent / "docs" / "images" / "speaker_det.png"
AMOUNTS = (1, 2, 4)
UBM_COMPONENTS = 64
SCRATCH_COMPONENTS = (2, 4, 8, 16)
COLOURS = {1: "#c1121f", 2: "#e9a227", 4: "#2a9d8f"}
TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4)


def table(rows):
    lines = ["| enrolment | speech per speaker | method | accuracy | EER |",
             "|---|---|---|---|---|"]
    for row in rows:
        if row["method"] == "MAP":
            method = f"MAP from the {row['components']}-component UBM"
        else:
            method = f"from scratch, best K = {row['components']}"
        noun = "utterance" if row["utterances"] == 1 else "utterances"
        lines.append(f"| {row['utterances']} {noun} | {row['seconds']:.1f} s | {method} | "
                     f"{row['accuracy']:.0%} | {row['eer']:.1%} |")
    return "\n".join(lines)


def det_axes(ax):
    low = norm.ppf(0.005)
    high = norm.ppf(0.6)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ticks = norm.ppf(TICKS)
    labels = [f"{t:.0%}" for t in TICKS]
    ax.set_xticks(ticks, labels)
    ax.set_yticks(ticks, labels)
    ax.plot([low, high], [low, high], color="0.8", lw=0.8, zorder=0)
    ax.set_xlabel("false acceptance rate")
    ax.set_ylabel("false rejection rate")
    ax.grid(alpha=0.3)


def picture(result, out=OUT):
    fig, (det, dist) = plt.subplots(1, 2, figsize=(11, 4.6))
    det_axes(det)
    for (amount, method), (target, nontarget) in result["scores"].items():
        fa, fr, _ = speaker.det_points(target, nontarget)
        keep = (fa > 0) & (fr > 0)
        eer = speaker.equal_error_rate(target, nontarget)[0]
        style = "-" if method == "MAP" else "--"
        noun = "utt." if amount == 1 else "utts."
        det.plot(norm.ppf(fa[keep]), norm.ppf(fr[keep]), style, color=COLOURS[amount], lw=1.8,
                 label=f"{method}, {amount} {noun} (EER {eer:.0%})")
    det.set_title("DET curves: MAP (solid) against scratch (dashed)")
    det.legend(fontsize=8, loc="lower left")
    target, nontarget = result["scores"][1, "MAP"]
    bins = np.linspace(min(target.min(), nontarget.min()), max(target.max(), nontarget.max()), 40)
    dist.hist(nontarget, bins=bins, density=True, alpha=0.6, color="0.55",
              label=f"non-target trials ({len(nontarget)})")
    dist.hist(target, bins=bins, density=True, alpha=0.6, color=COLOURS[1],
              label=f"target trials ({len(target)})")
    threshold = speaker.equal_error_rate(target, nontarget)[1]
    dist.axvline(threshold, color="k", lw=1, ls=":", label=f"EER threshold {threshold:.2f}")
    dist.set_xlabel("mean log-likelihood ratio per frame (speaker model vs UBM)")
    dist.set_ylabel("density")
    seconds = next(r["seconds"] for r in result["rows"] if r["utterances"] == 1)
    dist.set_title(f"MAP, one enrolment utterance ({seconds:.1f} s): score distributions")
    dist.legend(fontsize=8)
    fig.suptitle("GMM-UBM speaker recognition on synthetic speech (8 espeak-ng voices, 8 kHz)",
                 fontsize=11)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=90)
    os.replace(tmp, out)
    plt.close(fig)
    print(f"wrote {out}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT,
                        help="where the picture goes (default: docs/images/speaker_det.png)")
    parser.add_argument("--quick", action="store_true",
                        help="one enrolment utterance, a 16-component UBM (a smoke run)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    amounts, ubm_components, scratch_components = (
        ((1,), 16, (2, 4)) if args.quick else (AMOUNTS, UBM_COMPONENTS, SCRATCH_COMPONENTS))
    corpus = gm.datasets.load_speakers()
    features = {p: speaker.file_features(p) for p in corpus["path"]}
    kb = sum(os.path.getsize(p) for p in corpus["path"]) / 1000
    seconds = sum(len(f) for f in features.values()) / 100
    print(f"corpus: {len(corpus)} utterances, {kb:.0f} kB, {seconds:.0f} s of speech frames")
    result = speaker.evaluate(corpus, amounts=amounts, ubm_components=ubm_components,
                              scratch_components=scratch_components, features=features,
                              random_state=0)
    print(table(result["rows"]))
    picture(result, args.out)


if __name__ == "__main__":
    main()
