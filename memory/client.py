"""Which Chroma the store talks to: an embedded store on disk, or a team's Chroma server."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import chromadb
from chromadb.api import ClientAPI
from chromadb.config import Settings


def _settings() -> Settings:
    # No telemetry: linernotes never talks to the network on its own. A new object per
    # client, since chromadb writes the client's kind and address into the one it is given.
    return Settings(anonymized_telemetry=False)


def http_client(url: str) -> ClientAPI:
    """A client of the Chroma server at `url` (e.g. http://127.0.0.1:8000)."""
    parsed = urlparse(url if "://" in url else f"http://{url}")
    if not parsed.hostname:
        raise ValueError(f"not a Chroma server URL: {url!r}")
    secure = parsed.scheme == "https"
    return chromadb.HttpClient(
        host=parsed.hostname,
        port=parsed.port or (443 if secure else 8000),
        ssl=secure,
        settings=_settings(),
    )


def persistent_client(path: Path) -> ClientAPI:
    """An embedded Chroma stored under `path` (created if missing)."""
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=_settings())
