"""
Speaker recognition with a GMM-UBM
==================================

Who is speaking? The classic text-independent answer (Reynolds, Quatieri & Dunn, 2000) is made
of mixtures only: a large *universal background model* (UBM) fitted on many speakers' sound
features, and for each enrolled speaker that UBM nudged towards their few seconds of speech by
MAP adaptation. A new utterance is scored by how much better the speaker's mixture explains its
frames than the UBM does: the mean log-likelihood ratio per frame.

The data: the small corpus that ships with gaussmix (:func:`gaussmix.datasets.load_speakers`),
eight target speakers and six background speakers, **synthetic speech** made with the espeak-ng
synthesiser (``examples/make_speaker_corpus.py``) at 8 kHz, every utterance through its own
band-pass "telephone" and noise. Results say how the method behaves, not how well it would
recognise people. Features need ``pip install "gaussmix[audio]"`` (librosa and soundfile).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

import gaussmix as gm
from gaussmix.apps import speaker

corpus = gm.datasets.load_speakers()          # one row per utterance: path, speaker, role
features = {path: speaker.file_features(path) for path in corpus["path"]}   # MFCCs + deltas
print(corpus["role"].value_counts().to_dict())
print("frames x features of the first utterance:", features[corpus["path"][0]].shape)

# %%
# The background model, then one MAP-adapted model per speaker
# -------------------------------------------------------------
# The UBM is a 64-component diagonal mixture fitted on the six background speakers only, none
# of whom is tested. Each target speaker is enrolled on their four enrolment utterances (about
# 5.5 s of speech): :func:`~gaussmix.apps.speaker.enroll` moves the UBM's means towards the
# speaker's frames, each component as far as its share of those frames warrants.
background = corpus[corpus["role"] == "background"]
ubm = speaker.train_ubm([features[p] for p in background["path"]], 64, random_state=0)

enrol = corpus[corpus["role"] == "enrol"]
names = list(dict.fromkeys(enrol["speaker"]))
models = {name: speaker.enroll(ubm, np.vstack([features[p] for p in
                                               enrol.loc[enrol["speaker"] == name, "path"]]))
          for name in names}

# %%
# Scoring every test utterance against every speaker
# --------------------------------------------------
# The 32 test utterances (four per speaker, sentences never used for enrolment) against the 8
# models: identification picks the best-scoring model (chance: 1 in 8); verification accepts a
# claimed speaker when the score passes a threshold, and its *equal error rate* (EER) is where
# false acceptances and false rejections are equally frequent.
test = corpus[corpus["role"] == "test"]
scores = speaker.score_matrix(models, ubm, [features[p] for p in test["path"]])
truth = np.array([names.index(s) for s in test["speaker"]])
is_target = np.arange(len(names)) == truth[:, None]
target, nontarget = scores[is_target], scores[~is_target]
accuracy = np.mean(scores.argmax(axis=1) == truth)
eer, threshold = speaker.equal_error_rate(target, nontarget)
print(f"identification accuracy {accuracy:.0%} (chance 12.5%), verification EER {eer:.1%}")

# %%
# Left: every score, the true speaker's model ringed; a red cross marks the model that won a
# row it should not have (a misidentified utterance). Right: target trials (an utterance
# against its own speaker) score higher than non-target trials, and the EER threshold sits
# where the two overlap.
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained",
                                  gridspec_kw={"width_ratios": [1, 1.3]})
image = left.imshow(scores, aspect="auto", cmap="viridis")
rows = np.arange(len(truth))
left.scatter(truth, rows, s=22, facecolors="none", edgecolors="w", linewidths=1.2)
wrong = scores.argmax(axis=1) != truth
left.scatter(scores.argmax(axis=1)[wrong], rows[wrong], s=30, marker="x", color="r",
             label="best score, wrong speaker")
left.legend(loc="lower left", fontsize=7, framealpha=0.8)
left.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
left.set(xlabel="speaker model", ylabel="test utterance",
         title=f"scores (ringed: the true speaker); {accuracy:.0%} identified")
fig.colorbar(image, ax=left, label="mean log-likelihood ratio per frame")
bins = np.linspace(scores.min(), scores.max(), 30)
right.hist(nontarget, bins=bins, density=True, alpha=0.6, color="0.55",
           label=f"non-target trials ({nontarget.size})")
right.hist(target, bins=bins, density=True, alpha=0.6, color="C3",
           label=f"target trials ({target.size})")
right.axvline(threshold, color="k", ls=":", label=f"EER threshold (EER {eer:.1%})")
right.set(xlabel="mean log-likelihood ratio per frame (speaker model vs UBM)",
          ylabel="density", title="verification: target against non-target scores")
right.legend(fontsize=8)
plt.show()

# %%
# ``examples/speaker_recognition.py`` runs the same experiment with 1, 2 and 4 enrolment
# utterances and compares MAP adaptation with mixtures fitted from scratch on the same frames:
# MAP wins most where there is least speech (the README's "Speaker recognition" table).
