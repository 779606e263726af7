"""Makes Debian's python3-torch use OpenBLAS for this process only.

Debian's torch 1.13 is built with BLAS_INFO=generic: matrix products go through the system libblas.so.3,
which is the netlib reference BLAS unless an optimised one is selected (~7 GFLOP/s vs ~90 with OpenBLAS
on one core). Calling ensure() before importing torch re-executes the script with LD_LIBRARY_PATH
pointing at libopenblas0-pthread's libblas.so.3 (if that package is installed: scripts/setup --python
installs it), leaving the system-wide BLAS alternative alone. OPENBLAS_NUM_THREADS follows --threads.
"""
import os
import sys

OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-pthread"


def ensure(threads=1):
    if os.environ.get("JANUS_SHAPES_BLAS_SET") or not os.path.exists(os.path.join(OPENBLAS_DIR, "libblas.so.3")):
        return
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = OPENBLAS_DIR + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    env["JANUS_SHAPES_BLAS_SET"] = "1"
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def threads_from_argv(default=1):
    for i, a in enumerate(sys.argv):
        if a == "--threads" and i + 1 < len(sys.argv):
            return int(sys.argv[i + 1])
        if a.startswith("--threads="):
            return int(a.split("=", 1)[1])
    return default
