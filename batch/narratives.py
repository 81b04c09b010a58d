"""Narratives kept beside the analysis cache, keyed by the analysis, the provider and the writer's
code: a cached song whose analysis and provider are unchanged gets its narrative back without an
LLM call, until an upgrade changes how narratives are written (as joblib's Memory keys on a
function's code)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from linernotes.tools import settings
from linernotes.tools.schema import Narrative, SongAnalysis


def provider_key(llm: str | None) -> str:
    """The provider a describe would use, with what picks its model and server."""
    from linernotes.agent.providers import default_spec

    spec = (llm or default_spec()).strip()
    return "|".join((spec, os.environ.get(settings.OPENAI_BASE_URL_ENV, ""),
                     os.environ.get(settings.LLM_MODEL_ENV, "")))


def analysis_key(analysis: SongAnalysis) -> str:
    """A hash of everything the narrative is written from: the analysis without its narrative and
    its stage timings (a rerun's timings differ; the facts do not)."""
    bare = analysis.model_copy(update={"narrative": None, "timings": {}})
    return hashlib.sha256(bare.to_json(include_embeddings=False).encode()).hexdigest()


# The modules that turn an analysis into a narrative: planning, writing, checking, prompts.
WRITER_MODULES = ("linernotes.agent.outline", "linernotes.agent.writer", "linernotes.agent.narrative",
                  "linernotes.agent.verify", "linernotes.agent.prompts", "linernotes.agent.graph",
                  "linernotes.tools.vocabulary")


@lru_cache(maxsize=1)
def writer_fingerprint() -> str:
    """A hash of the writer's source: a narrative kept by another version is not reused."""
    digest = hashlib.sha256()
    for module in WRITER_MODULES:
        digest.update(Path(importlib.util.find_spec(module).origin).read_bytes())
    return digest.hexdigest()


def _path(analysis: SongAnalysis, provider: str) -> Path:
    key = hashlib.sha256(f"{analysis_key(analysis)}|{provider}|{writer_fingerprint()}".encode()).hexdigest()
    return settings.data_dir() / "narratives" / f"{key}.json"


def load_narrative(analysis: SongAnalysis, *, provider: str) -> Narrative | None:
    """The narrative written before for this analysis by this provider, or None."""
    try:
        return Narrative.model_validate_json(_path(analysis, provider).read_text())
    except (OSError, ValidationError, ValueError):
        return None


def save_narrative(analysis: SongAnalysis, *, provider: str) -> None:
    """Keep `analysis.narrative`, unless the provider fell back to the deterministic writer
    (the next run should try the asked-for provider again)."""
    narrative = analysis.narrative
    if narrative is None or (narrative.provider == "none" and not provider.startswith("none|")):
        return
    path = _path(analysis, provider)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        out.write(narrative.model_dump_json())
    os.replace(temporary, path)
