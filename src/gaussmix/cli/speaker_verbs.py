"""``gaussmix speaker``: speaker recognition with a GMM-UBM (``ubm``, ``enroll``, ``identify``,
``verify``), on :mod:`gaussmix.apps.speaker`.

Models are gaussmix model files (:func:`gaussmix.save`). Their feature names record how the
features were made (``mfcc1@8000Hz``, ..., ``delta13@8000Hz``), so ``enroll``, ``identify`` and
``verify`` extract features exactly as the UBM's were, and refuse models made otherwise.
"""

from __future__ import annotations

import os
import re

import click

from .optional_extras import needs_extra
from .options import (
    COVARIANCE_CHOICES,
    COVARIANCE_HELP,
    SEED_TYPE,
    CliError,
    FiniteFloatRange,
    consoles,
    examples,
    existing_directory,
    fail_cleanly,
    one_line,
    progress,
    quiet_option,
    reported_warnings,
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_MODEL_SUFFIX = ".npz"


def _speaker_app():
    """The app module (imported when a verb runs: ``gaussmix --help`` stays fast)."""
    from ..apps import speaker

    return speaker


def _names(n_mfcc, deltas, sample_rate):
    return [f"{name}@{sample_rate}Hz" for name in _speaker_app().feature_names(n_mfcc, deltas)]


def _settings(path, names):
    """``(n_mfcc, deltas, sample_rate)`` recorded in a model file's feature names."""
    bad = CliError(f"{path}: not a model written by 'gaussmix speaker' (its feature names do not "
                   "record the MFCC settings).")
    names = list(names or ())
    if not names or not all("@" in n and n.endswith("Hz") for n in names):
        raise bad
    rates = {n.rsplit("@", 1)[1][:-2] for n in names}
    n_mfcc = sum(n.startswith("mfcc") for n in names)
    if len(rates) != 1 or not n_mfcc or len(names) % n_mfcc:
        raise bad
    rate = next(iter(rates))
    deltas = len(names) // n_mfcc - 1
    if not rate.isdigit() or deltas not in (0, 1, 2) or names != _names(n_mfcc, deltas, rate):
        raise bad
    return n_mfcc, deltas, int(rate)


def _read(path, what="model"):
    from ..io import read_model

    if not os.path.exists(path):
        raise CliError(f"{path}: no such {what} file.")
    model_file = read_model(path)
    return model_file.model, _settings(path, model_file.feature_names)


def _features(paths, settings, status=None):
    n_mfcc, deltas, rate = settings
    speaker = _speaker_app()
    out = []
    for path in paths:
        if status is not None:
            status(path)
        try:
            out.append(speaker.file_features(path, sample_rate=rate, n_mfcc=n_mfcc, deltas=deltas))
        except ImportError as exc:
            raise CliError(one_line(exc)) from None
    return out


def _speaker_name(ctx, param, value):
    if not _NAME.match(value):
        raise click.BadParameter(
            f"{value!r}: use letters, digits, '_', '-' and '.' (it names the model file)."
        )
    return value


def _models_in(folder, ubm_path):
    """``{name: (path, model)}`` of the speaker models in ``folder`` (the UBM left out)."""
    if not os.path.isdir(folder):
        raise CliError(f"{folder}: no such folder of speaker models.")
    skip = os.path.abspath(ubm_path)
    files = sorted(f for f in os.listdir(folder) if f.endswith(_MODEL_SUFFIX))
    paths = [os.path.join(folder, f) for f in files if os.path.abspath(
        os.path.join(folder, f)) != skip]
    if not paths:
        raise CliError(f"{folder}: holds no speaker models (*.npz); enrol speakers first with "
                       "'gaussmix speaker enroll'.")
    return {os.path.basename(p)[: -len(_MODEL_SUFFIX)]: p for p in paths}


def _load_models(folder, ubm_path, settings):
    models = {}
    for name, path in _models_in(folder, ubm_path).items():
        model, theirs = _read(path)
        if theirs != settings:
            raise CliError(f"{path}: its features ({theirs[0]} MFCCs, {theirs[1]} delta orders, "
                           f"{theirs[2]} Hz) differ from the UBM's; enrol it again with this UBM.")
        models[name] = model
    return models


def _files(paths):
    return "1 file" if len(paths) == 1 else f"{len(paths)} files"


def _top_c(value):
    return None if value == 0 else value


@click.group(epilog=examples(
    "gaussmix speaker ubm background/*.wav -k 64 -o ubm.npz",
    "gaussmix speaker enroll alice alice1.wav alice2.wav --ubm ubm.npz -o models/",
    "gaussmix speaker identify unknown.wav --ubm ubm.npz --models models/",
    "gaussmix speaker verify alice claim.wav --ubm ubm.npz --models models/ --threshold 0.2",
))
def speaker():
    """Speaker recognition with a GMM-UBM: background model, MAP enrolment, scoring.

    Audio files are WAV, FLAC, OGG, ... (anything libsndfile reads), resampled to the UBM's
    rate. Features are MFCCs with deltas and cepstral mean normalisation. Needs the audio
    extra: pip install "gaussmix[audio]".
    """


@speaker.command(epilog=examples("gaussmix speaker ubm background/*.flac -k 64 -o ubm.npz"))
@click.argument("audio", nargs=-1, required=True, metavar="AUDIO...")
@click.option("-o", "--output", required=True, callback=existing_directory, metavar="UBM.npz",
              help="Model file to write.")
@click.option("-k", "--n-components", "n_components", default=64, show_default=True,
              type=click.IntRange(1), help="Components of the background model.")
@click.option("--covariance", "covariance_type", default="diag", show_default=True,
              type=COVARIANCE_CHOICES, help="Covariance model (" + COVARIANCE_HELP + ").")
@click.option("--sample-rate", default=8000, show_default=True, type=click.IntRange(4000),
              help="Rate (Hz) every file is resampled to before its features are taken.")
@click.option("--mfcc", "n_mfcc", default=13, show_default=True, type=click.IntRange(1, 40),
              help="Cepstral coefficients per frame (c1..cN).")
@click.option("--deltas", default=1, show_default=True, type=click.IntRange(0, 2),
              help="Delta orders appended (1: velocities, 2: also accelerations).")
@click.option("--seed", default=0, show_default=True, type=SEED_TYPE, help="Random seed.")
@quiet_option
@fail_cleanly
@needs_extra
def ubm(audio, output, n_components, covariance_type, sample_rate, n_mfcc, deltas, seed,
        quiet):
    """Train the universal background model on the speech of many speakers (AUDIO...)."""
    from ..io import save

    settings = (n_mfcc, deltas, sample_rate)
    with progress("Features", quiet) as status:
        frames = _features(audio, settings, status)
    n_frames = sum(len(f) for f in frames)
    if n_frames < max(2, n_components):
        raise CliError(f"only {n_frames} frames of speech in {_files(audio)}, too few for "
                       f"{n_components} components; give more audio or use a smaller -k.")
    with progress(f"Training the UBM on {n_frames} frames", quiet), reported_warnings():
        model = _speaker_app().train_ubm(frames, n_components, covariance_type=covariance_type,
                                         random_state=seed)
    save(model, output, feature_names=_names(*settings))
    _, err = consoles(quiet)
    err.print(f"UBM of {n_components} components on {n_frames} frames "
              f"({n_frames / 100:.1f} s of speech, {_files(audio)}); wrote {output}",
              highlight=False, soft_wrap=True)


@speaker.command(epilog=examples(
    "gaussmix speaker enroll alice alice1.wav alice2.wav --ubm ubm.npz -o models/"))
@click.argument("name", callback=_speaker_name)
@click.argument("audio", nargs=-1, required=True, metavar="AUDIO...")
@click.option("--ubm", "ubm_path", required=True, metavar="UBM.npz",
              help="Background model from 'gaussmix speaker ubm'.")
@click.option("-o", "--output", "folder", required=True, metavar="MODELS/",
              help="Folder of speaker models (created if needed); writes MODELS/NAME.npz.")
@click.option("--relevance-factor", default=16.0, show_default=True,
              type=FiniteFloatRange(0, min_open=True), help="MAP relevance factor r.")
@click.option("--adapt", multiple=True, default=("means",), show_default=True,
              type=click.Choice(["weights", "means", "covariances"]),
              help="What to adapt (repeat the option for several).")
@quiet_option
@fail_cleanly
@needs_extra
def enroll(name, audio, ubm_path, folder, relevance_factor, adapt, quiet):
    """Enrol speaker NAME from AUDIO...: the UBM MAP-adapted to their speech."""
    from ..io import save

    model, settings = _read(ubm_path, "UBM")
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise CliError(f"{folder}: is a file; -o takes a folder of speaker models.")
    frames = _features(audio, settings)
    adapted = _speaker_app().enroll(model, frames, relevance_factor=relevance_factor,
                                    adapt=tuple(adapt))
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name + _MODEL_SUFFIX)
    save(adapted, path, feature_names=_names(*settings))
    n_frames = sum(len(f) for f in frames)
    _, err = consoles(quiet)
    err.print(f"{name}: enrolled on {n_frames / 100:.1f} s of speech ({_files(audio)}); "
              f"wrote {path}", highlight=False, soft_wrap=True)


def _scoring_options(func):
    func = click.option("--top-c", default=5, show_default=True, type=click.IntRange(0),
                        help="Score each frame on the speaker model's components that are the "
                        "C best of the UBM for it (0: all components, exact).")(func)
    func = click.option("--models", "folder", required=True, metavar="MODELS/",
                        help="Folder of speaker models from 'gaussmix speaker enroll'.")(func)
    return click.option("--ubm", "ubm_path", required=True, metavar="UBM.npz",
                        help="The background model the speakers were enrolled with.")(func)


@speaker.command(epilog=examples(
    "gaussmix speaker identify unknown.wav --ubm ubm.npz --models models/",
    "gaussmix speaker identify test/*.wav --ubm ubm.npz --models models/ -o scores.csv"))
@click.argument("audio", nargs=-1, required=True, metavar="AUDIO...")
@_scoring_options
@click.option("-o", "--output", callback=existing_directory, metavar="OUT",
              help="Also write every file's scores (.csv, .tsv or .parquet): 'file', "
              "'identified' and one column 'score_NAME' per speaker.")
@quiet_option
@fail_cleanly
@needs_extra
def identify(audio, ubm_path, folder, top_c, output, quiet):
    """Say which enrolled speaker spoke each of AUDIO...

    Prints, per file, the best-scoring speaker and the runner-up; a score is the mean
    log-likelihood ratio per frame of the speaker's model against the UBM.
    """
    app = _speaker_app()
    model, settings = _read(ubm_path, "UBM")
    models = _load_models(folder, ubm_path, settings)
    frames = _features(audio, settings)
    matrix = app.score_matrix(models, model, frames, top_c=_top_c(top_c))
    names = list(models)
    best = [names[i] for i in matrix.argmax(axis=1)]
    if output is not None:
        from ..io.table_writing import write_table

        columns = {"file": list(audio), "identified": best}
        columns.update({f"score_{n}": matrix[:, j] for j, n in enumerate(names)})
        write_table(output, columns)
    out, _ = consoles(quiet)
    for path, row in zip(audio, matrix):
        order = row.argsort()[::-1]
        line = f"{path}: {names[order[0]]} (score {row[order[0]]:.3f}"
        if len(order) > 1:
            line += f"; next {names[order[1]]} {row[order[1]]:.3f}"
        out.print(line + ")", highlight=False, soft_wrap=True)


@speaker.command(epilog=examples(
    "gaussmix speaker verify alice claim.wav --ubm ubm.npz --models models/ --threshold 0.2"))
@click.argument("name", callback=_speaker_name)
@click.argument("audio", nargs=-1, required=True, metavar="AUDIO...")
@_scoring_options
@click.option("--threshold", default=0.0, show_default=True, type=FiniteFloatRange(),
              help="Accept when the score reaches it (pick it on trial data, e.g. at the "
              "equal error rate).")
@quiet_option
@fail_cleanly
@needs_extra
def verify(name, audio, ubm_path, folder, top_c, threshold, quiet):
    """Accept or reject the claim that NAME spoke each of AUDIO...

    Prints 'accepted' or 'rejected' and the score per file; the exit status is 0 either way.
    """
    app = _speaker_app()
    model, settings = _read(ubm_path, "UBM")
    path = os.path.join(folder, name + _MODEL_SUFFIX)
    if not os.path.exists(path):
        raise CliError(f"{path}: no such speaker model; enrol {name} first with "
                       "'gaussmix speaker enroll'.")
    claimed, theirs = _read(path)
    if theirs != settings:
        raise CliError(f"{path}: its features differ from the UBM's; enrol it again with it.")
    frames = _features(audio, settings)
    out, _ = consoles(quiet)
    for file, utterance in zip(audio, frames):
        accepted, value = app.verify(claimed, model, utterance, threshold=threshold,
                                     top_c=_top_c(top_c))
        verdict = "accepted" if accepted else "rejected"
        out.print(f"{file}: {name} {verdict} (score {value:.3f}, threshold {threshold:g})",
                  highlight=False, soft_wrap=True)
