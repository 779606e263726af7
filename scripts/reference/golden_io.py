"""Small helpers shared by the make_*_fixtures.py scripts: repo paths, .npy/manifest writing,
deterministic torch settings, and summary statistics recorded next to the goldens.
Arrays are written C-order in their natural dtype (f32 activations, int64/int32 ids)."""
import json
import os

import numpy as np
import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MODELS = os.path.join(REPO, "tests", "data", "models")
GOLDEN = os.path.join(REPO, "tests", "data", "golden")


def deterministic():
    """One thread: bit-identical goldens on every regeneration (and cheap on the shared CPU)."""
    torch.set_num_threads(1)
    torch.manual_seed(0)


def fresh_dir(path):
    """Create `path`, removing files left by a previous run (only plain files this script wrote)."""
    os.makedirs(path, exist_ok=True)
    for fn in os.listdir(path):
        p = os.path.join(path, fn)
        if os.path.isfile(p):
            os.remove(p)
    return path


class Golden:
    """Collects .npy files of one golden folder and writes manifest.json describing each."""

    def __init__(self, path, meta):
        self.path = fresh_dir(path)
        self.meta = dict(meta)
        self.files = {}

    def save(self, name, arr, note=""):
        arr = np.ascontiguousarray(arr)
        np.save(os.path.join(self.path, name + ".npy"), arr)
        self.files[name + ".npy"] = {"shape": list(arr.shape), "dtype": str(arr.dtype), "note": note}
        return arr

    def write(self):
        m = dict(self.meta)
        m["files"] = self.files
        with open(os.path.join(self.path, "manifest.json"), "w") as f:
            json.dump(m, f, indent=1, sort_keys=False)
            f.write("\n")


def top2_margin(logits):
    """Min over rows of (top1 - top2) logit: how robust a greedy argmax path is to small errors."""
    l = np.asarray(logits, dtype=np.float64).reshape(-1, np.asarray(logits).shape[-1])
    s = np.sort(l, axis=-1)
    return float(np.min(s[:, -1] - s[:, -2]))


def max_rel_err(a, b):
    """max|a-b| / max|b| (the tolerance metric the C++ tests use)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def dir_size(path):
    return sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(path) for f in fs)
