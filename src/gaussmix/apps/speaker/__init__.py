"""Speaker recognition with a GMM-UBM: MFCC features, a background model, MAP-adapted speakers.

The classic text-independent system of Reynolds, Quatieri & Dunn (2000):

1. **Features** (:func:`load_audio`, :func:`mfcc_features`, :func:`file_features`): MFCCs of
   25 ms frames every 10 ms (and their deltas), frames of silence dropped by an energy threshold,
   cepstral mean normalisation per utterance (which removes a fixed channel, such as a
   microphone or a telephone line).
2. **Universal background model** (:func:`train_ubm`): a large diagonal-covariance mixture
   fitted by EM on many speakers' features.
3. **Enrolment** (:func:`enroll`): a speaker's model is the UBM MAP-adapted to their features
   (:func:`gaussmix.map_adapt`; means only, relevance factor 16). A few seconds are enough,
   because a component the speaker's data do not reach keeps the UBM's parameters.
4. **Scoring** (:func:`score`, :func:`identify`, :func:`verify`): the mean per-frame
   log-likelihood ratio of the speaker model against the UBM, with the *top-C* shortcut: each
   frame is scored on the speaker model's components that are the C best of the UBM for that
   frame (adapted components stay close to their UBM parents).

Audio is read with ``soundfile`` and features come from ``librosa`` (the ecosystem's standard
feature library): ``pip install "gaussmix[audio]"``. Both are imported only when used.
:mod:`gaussmix.apps.speaker.evaluation` measures identification accuracy and equal error rates;
``gaussmix speaker`` is the command line.

Examples
--------
>>> import numpy as np
>>> from gaussmix.apps import speaker
>>> rng = np.random.default_rng(0)
>>> background = [rng.normal(0, 1, (300, 4)) + rng.normal(0, 2, 4) for _ in range(6)]
>>> ubm = speaker.train_ubm(background, n_components=8, random_state=0)
>>> alice, bob = rng.normal(0, 2, 4), rng.normal(0, 2, 4)
>>> models = {"alice": speaker.enroll(ubm, rng.normal(0, 1, (200, 4)) + alice),
...           "bob": speaker.enroll(ubm, rng.normal(0, 1, (200, 4)) + bob)}
>>> name, scores = speaker.identify(models, ubm, rng.normal(0, 1, (100, 4)) + bob)
>>> name
'bob'

The package's modules: :mod:`.audio` (features), :mod:`.model` (the UBM and enrolment),
:mod:`.scoring` and :mod:`.evaluation`; every public name is importable from
``gaussmix.apps.speaker`` itself.
"""

from .audio import DEFAULT_SAMPLE_RATE, feature_names, file_features, load_audio, mfcc_features
from .evaluation import det_points, equal_error_rate, evaluate
from .model import enroll, train_ubm
from .scoring import frame_scores, identify, score, score_matrix, verify

__all__ = [
    "DEFAULT_SAMPLE_RATE", "det_points", "enroll", "equal_error_rate", "evaluate",
    "feature_names", "file_features", "frame_scores", "identify", "load_audio", "mfcc_features",
    "score", "score_matrix", "train_ubm", "verify",
]
