"""Make the small synthetic speaker corpus shipped in ``src/gaussmix/datasets/speakers/``.

**The speech is synthetic**: it is made by the formant synthesiser eSpeak NG (the Debian
package ``espeak-ng``, version 1.51 here), one voice per speaker. No recording of a
person is involved, and results on it say how the method behaves, not how well it would recognise
people. Nothing is downloaded; CI and the tests use the shipped files and never need espeak-ng.

Speakers
    Fourteen espeak-ng voices ``-v <accent>+<variant>``, each one of espeak-ng's English accents
    (``en-us``, ``en-gb``, ``en-gb-scotland``, ``en-gb-x-rp``, ``en-029`` Caribbean) with one of
    its voice variants (``m1``..``m8``, ``f1``..``f5``, ``klatt``), listed in ``TARGETS`` and
    ``BACKGROUND``: eight *target* speakers who are enrolled and tested, and six *background*
    speakers, disjoint from them, whose speech trains the universal background model. A variant
    sets the pitch range, formant scaling, breathiness and roughness; the accent sets how the
    phonemes are realised. Variants with nearly equal formant scalings (``m1``, ``m7``) make
    confusable pairs on purpose.

Utterances
    Each target says 4 enrolment sentences (from ``ENROL_SENTENCES``) and 4 different test
    sentences (from ``TEST_SENTENCES``; no sentence is in both sets, so testing is
    text-independent); each background speaker says 3 sentences from ``BACKGROUND_SENTENCES``.
    Sentence ``j`` of speaker ``i`` is number ``(3 i + j) mod n`` of its list, so speakers share
    sentences but not sequences of them. The sentences were written for this corpus.

Variation within a speaker (per utterance, from ``numpy.random.default_rng(SEED)`` in the order
the files are listed in ``speakers.csv``, which records every value drawn)
    * speed: ``espeak-ng -s`` uniform integer in [150, 200] words per minute;
    * pitch: ``espeak-ng -p`` uniform integer in [40, 60] (espeak's default is 50);
    * channel: a 2nd-order Butterworth band-pass, low edge uniform in [150, 400] Hz, high edge
      uniform in [2800, 3800] Hz (a different "telephone" for every utterance);
    * noise: white Gaussian noise at a signal-to-noise ratio uniform in [20, 30] dB;
    * level: peak normalised to a gain uniform in [-9, -1] dBFS.

Signal processing
    espeak-ng's 22,050 Hz output is resampled to 8 kHz (``scipy.signal.resample_poly(x, 160,
    441)``, telephone bandwidth, as in classic speaker recognition), its leading and trailing
    silence removed (samples below 2% of the peak, keeping 10 ms), filtered, noised, scaled, and
    written as **mono 8 kHz, 8-bit FLAC** (``soundfile.write(..., subtype="PCM_S8")``).

Why FLAC at 8 bits and not 16-bit WAV: the whole corpus must stay a few hundred kB. FLAC is
lossless and read by ``soundfile`` (libsndfile) like WAV; 8-bit samples at 8 kHz compress to about
4 kB per second of speech, 16-bit WAV would take 16 kB/s, four times more. The 8-bit quantisation
adds its own (white) noise, 25 to 36 dB below the speech level of these files (about 30 dB on
average), so the overall signal-to-noise ratio is up to about 3 dB below the value drawn; it is
part of the degradation. The loaders and ``gaussmix speaker`` read WAV just as well.

Run from the repository root (needs ``espeak-ng``; a few seconds)::

    python examples/make_speaker_corpus.py [--out src/gaussmix/datasets/speakers] [--limit N]

``--limit N`` makes only the first N utterances (a smoke run).

The output is deterministic for a given espeak-ng version.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "gaussmix" / "datasets" / "speakers"
SEED = 13
RATE = 8000
# speaker id -> espeak-ng voice: an English accent (espeak-ng's language voice) + a variant
TARGETS = {
    "us-m1": "en-us+m1", "gb-m2": "en-gb+m2", "scot-m4": "en-gb-scotland+m4",
    "carib-m5": "en-029+m5", "us-m7": "en-us+m7", "us-f1": "en-us+f1", "gb-f2": "en-gb+f2",
    "rp-f4": "en-gb-x-rp+f4",
}
BACKGROUND = {
    "us-m3": "en-us+m3", "gb-m6": "en-gb+m6", "scot-f3": "en-gb-scotland+f3",
    "carib-f5": "en-029+f5", "us-m8": "en-us+m8", "rp-klatt": "en-gb-x-rp+klatt",
}
N_ENROL, N_TEST, N_BACKGROUND = 4, 4, 3
SPEED = (150, 200)
PITCH = (40, 60)
LOW_EDGE = (150.0, 400.0)
HIGH_EDGE = (2800.0, 3800.0)
SNR_DB = (20.0, 30.0)
GAIN_DB = (-9.0, -1.0)

ENROL_SENTENCES = (
    "Bring the kettle inside.",
    "My brother paints boats.",
    "Seven geese crossed the pond.",
    "Hand me the blue folder.",
    "The bakery opens early.",
    "We walked along the river.",
    "Her garden smells of mint.",
    "The train was late again.",
    "A small dog chased the ball.",
    "Turn left after the bridge.",
    "Grandfather tells funny stories.",
    "The lamp flickered all evening.",
    "Cold soup tastes better.",
    "Nobody answered the phone.",
    "Six apples fell down.",
    "The printer needs paper.",
)
TEST_SENTENCES = (
    "Close the window.",
    "Lunch is ready.",
    "Where are my keys?",
    "The market was busy.",
    "Call me tomorrow.",
    "Rain is coming.",
    "He lost his umbrella.",
    "Thank you kindly.",
    "Shoes by the door.",
    "The music stopped.",
    "Count to twenty.",
    "That clock runs fast.",
)
BACKGROUND_SENTENCES = (
    "Wind shook the pines.",
    "Fresh bread costs two pounds.",
    "Our neighbours own cats.",
    "The museum closes at five.",
    "Quiet voices filled the hall.",
    "Yellow leaves covered the path.",
    "He parked by the fountain.",
    "Dinner was cooked outside.",
)


def synthesise(text, voice, speed, pitch):
    """espeak-ng's waveform (float64, its own rate) of ``text`` in ``voice``."""
    command = ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch),
               "--stdout", text]
    wav = subprocess.run(command, capture_output=True, check=True).stdout
    x, rate = sf.read(io.BytesIO(wav), dtype="float64")
    return x, rate


def degrade(x, rate, rng, record):
    """Resample to 8 kHz, trim, band-pass, add noise and scale; draws recorded in ``record``."""
    if rate != 22050:
        raise RuntimeError(f"espeak-ng produced {rate} Hz; this script expects 22050 Hz.")
    y = signal.resample_poly(x, 160, 441)
    loud = np.flatnonzero(np.abs(y) > 0.02 * np.abs(y).max())
    keep = RATE // 100
    y = y[max(loud[0] - keep, 0): loud[-1] + keep]
    low, high = rng.uniform(*LOW_EDGE), rng.uniform(*HIGH_EDGE)
    sos = signal.butter(2, [low, high], btype="bandpass", fs=RATE, output="sos")
    y = signal.sosfilt(sos, y)
    snr = rng.uniform(*SNR_DB)
    noise = rng.standard_normal(len(y)) * np.sqrt(np.mean(y**2)) * 10 ** (-snr / 20)
    y = y + noise
    gain = rng.uniform(*GAIN_DB)
    y = y / np.abs(y).max() * 10 ** (gain / 20)
    record.update(low_hz=round(low), high_hz=round(high), snr_db=round(snr, 1),
                  gain_db=round(gain, 1))
    return y


def plan():
    """Every utterance to make, in order: (file stem, speaker, voice, role, sentence)."""
    todo = []
    for i, (speaker, voice) in enumerate(TARGETS.items()):
        for j in range(N_ENROL):
            text = ENROL_SENTENCES[(3 * i + j) % len(ENROL_SENTENCES)]
            todo.append((f"{speaker}_enrol{j + 1}", speaker, voice, "enrol", text))
        for j in range(N_TEST):
            text = TEST_SENTENCES[(3 * i + j) % len(TEST_SENTENCES)]
            todo.append((f"{speaker}_test{j + 1}", speaker, voice, "test", text))
    for i, (speaker, voice) in enumerate(BACKGROUND.items()):
        for j in range(N_BACKGROUND):
            text = BACKGROUND_SENTENCES[(3 * i + j) % len(BACKGROUND_SENTENCES)]
            todo.append((f"{speaker}_background{j + 1}", speaker, voice, "background", text))
    return todo


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT,
                        help="output folder (default: the package's)")
    parser.add_argument("--limit", type=int, default=None,
                        help="make only the first LIMIT utterances of the plan (a smoke run)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    out = args.out
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is not installed (Debian/Ubuntu: apt-get install espeak-ng).")
    version = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True,
                             check=True).stdout
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.flac"):
        old.unlink()
    rng = np.random.default_rng(SEED)
    rows = []
    for stem, speaker, voice, role, text in plan()[:args.limit]:
        speed = int(rng.integers(SPEED[0], SPEED[1] + 1))
        pitch = int(rng.integers(PITCH[0], PITCH[1] + 1))
        record = {"file": f"{stem}.flac", "speaker": speaker, "role": role, "voice": voice,
                  "speed_wpm": speed, "pitch": pitch}
        x, rate = synthesise(text, voice, speed, pitch)
        y = degrade(x, rate, rng, record)
        sf.write(out / record["file"], y, RATE, format="FLAC", subtype="PCM_S8")
        record["seconds"] = round(len(y) / RATE, 2)
        record["text"] = text
        rows.append(record)
    with open(out / "speakers.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    size = sum(p.stat().st_size for p in out.iterdir())
    seconds = sum(r["seconds"] for r in rows)
    print(f"wrote {len(rows)} utterances, {seconds:.0f} s of speech, {size / 1000:.0f} kB in {out} "
          f"({version.split('Data')[0].strip()})")


if __name__ == "__main__":
    main()
