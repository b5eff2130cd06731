import os

os.environ.setdefault("MPLBACKEND", "Agg")

SEED = 20261125
print(f"gaussmix tests: fixed seed {SEED}")
