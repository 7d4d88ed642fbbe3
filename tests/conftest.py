"""Shared test settings: one thread for torch and BLAS on the 2-core CI machine."""

import os

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TOKENIZERS_PARALLELISM"):
    os.environ.setdefault(var, "1" if var != "TOKENIZERS_PARALLELISM" else "false")
