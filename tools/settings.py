"""Settings on the bottom floor: the data directory, every `LINERNOTES_*` variable and the defaults.

Each setting is resolved the same way: an explicit argument, else its environment variable,
else the default. Nothing here imports more than the standard library, so the CLI can read
settings before any model loads.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

DATA_DIR_ENV = "LINERNOTES_DATA_DIR"
STORE_ENV = "LINERNOTES_STORE"
CHROMA_URL_ENV = "LINERNOTES_CHROMA_URL"
LLM_ENV = "LINERNOTES_LLM"
LLM_MODEL_ENV = "LINERNOTES_LLM_MODEL"
OPENAI_BASE_URL_ENV = "OPENAI_BASE_URL"
OPENAI_API_KEY_ENV = "OPENAI_API_KEY"
ESSENTIA_MODELS_ENV = "LINERNOTES_ESSENTIA_MODELS"
DEBUG_ENV = "LINERNOTES_DEBUG"
EVALSET_ENV = "LINERNOTES_EVALSET"
CONFIG_ENV = "LINERNOTES_CONFIG"
CONFIG_NAME = "linernotes.toml"
CHUNK_ENV = "LINERNOTES_CHUNK_SECONDS"

# Longer files are refused before decoding: a whole album side is the most one run takes.
MAX_DURATION_S = 30 * 60.0
# A longer file is analysed in chunks of about this length (`tools.longform`), so the memory
# an analysis needs stops growing with the file's length.
LONGFORM_CHUNK_S = 600.0
# Context decoded on each side of a chunk and discarded, so no detector sees a hard edge.
LONGFORM_OVERLAP_S = 8.0
# Chunks start on this grid: whole key-evidence steps (1.6 s), loudness blocks (0.1 s), seconds.
LONGFORM_GRID_S = 8.0


def chunk_seconds(value: float | None = None) -> float:
    """The long-form chunk length: `value`, else `$LINERNOTES_CHUNK_SECONDS`, else 10 minutes.

    Rounded to the chunk grid (`LONGFORM_GRID_S`), at least two grid steps.

    Raises
    ------
    ValueError
        When the environment variable is not a number.
    """
    if value is None:
        text = os.environ.get(CHUNK_ENV)
        try:
            value = float(text) if text else LONGFORM_CHUNK_S
        except ValueError:
            raise ValueError(f"{CHUNK_ENV}={text!r} is not a number of seconds") from None
    return max(2, int(value / LONGFORM_GRID_S + 0.5)) * LONGFORM_GRID_S


def chunk_plan(duration_s: float, *, chunk_s: float) -> tuple[int, float]:
    """How a file of `duration_s` is cut: (chunks, seconds per chunk), equal chunks on the grid.

    At most about `chunk_s` each, so 12 minutes in 10-minute chunks is two of 6 minutes.
    """
    count = max(1, math.ceil(duration_s / chunk_s - 1e-9))
    return count, math.ceil(duration_s / count / LONGFORM_GRID_S) * LONGFORM_GRID_S


def data_dir() -> Path:
    """The data directory: `$LINERNOTES_DATA_DIR`, else the XDG data home's `linernotes/`."""
    explicit = os.environ.get(DATA_DIR_ENV)
    if explicit:
        root = Path(explicit).expanduser()
    else:
        xdg = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
        root = Path(xdg) / "linernotes"
    root.mkdir(parents=True, exist_ok=True)
    return root


def store_path(path: str | Path | None = None) -> Path:
    """The embedded store's directory: `path`, else `$LINERNOTES_STORE`, else `data_dir()/store`."""
    chosen = path or os.environ.get(STORE_ENV)
    return Path(chosen).expanduser() if chosen else data_dir() / "store"


def chroma_url(url: str | None = None) -> str | None:
    """The Chroma server URL: `url`, else `$LINERNOTES_CHROMA_URL`, else None (embedded)."""
    return url or os.environ.get(CHROMA_URL_ENV) or None


def llm_spec(spec: str | None = None) -> str | None:
    """The LLM provider named by `spec`, else `$LINERNOTES_LLM`; None leaves the choice to the agent."""
    return spec or os.environ.get(LLM_ENV) or None


def essentia_models_dir(folder: str | Path | None = None) -> Path | None:
    """The folder of Essentia TensorFlow models: `folder`, else `$LINERNOTES_ESSENTIA_MODELS`, else None."""
    chosen = folder or os.environ.get(ESSENTIA_MODELS_ENV)
    return Path(chosen).expanduser() if chosen else None


def debug() -> bool:
    """Whether `$LINERNOTES_DEBUG` asks for tracebacks instead of one-line errors."""
    return bool(os.environ.get(DEBUG_ENV))


def config_path(path: str | Path | None = None) -> Path:
    """The config file: `path`, else `$LINERNOTES_CONFIG`, else `data_dir()/linernotes.toml`."""
    chosen = path or os.environ.get(CONFIG_ENV)
    return Path(chosen).expanduser() if chosen else data_dir() / CONFIG_NAME


def load_config(path: str | Path | None = None) -> dict:
    """The config file's tables (TOML), or {} when the default file does not exist.

    Raises
    ------
    ValueError
        When a file named explicitly is missing, or any config file is not valid TOML; the
        message is one line for the user.
    """
    import tomllib

    file = config_path(path)
    try:
        text = file.read_text()
    except FileNotFoundError:
        if path or os.environ.get(CONFIG_ENV):
            raise ValueError(f"config file {file} does not exist") from None
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"config file {file} is not valid TOML ({error})") from None
