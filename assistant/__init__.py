"""The policy assistant: cited answers from Danish and Swedish policy documents."""

import os

# numpy's OpenBLAS threads busy-wait ~0.1 s after every call. On two cores they then starve the embedder's
# threads: `ask` embedded its sentences twice as slowly right after the search's matrix product. Set before
# numpy loads (this package is imported first); a value the user set wins.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

__version__ = "0.1.0"
