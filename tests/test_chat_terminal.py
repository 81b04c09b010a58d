"""The real `linernotes chat` in a pseudo-terminal: questions, a follow-up, slash commands, Ctrl-D."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from agent_fixtures import song_analysis

from linernotes.memory.store import SongStore

pexpect = pytest.importorskip("pexpect")
ROOT = Path(__file__).resolve().parents[1]


def test_chat_in_a_terminal(tmp_path):
    store = tmp_path / "store"
    SongStore(path=store).add_song(song_analysis())
    env = {**os.environ, "LINERNOTES_DATA_DIR": str(tmp_path), "TERM": "xterm", "COLUMNS": "120",
           "PROMPT_TOOLKIT_NO_CPR": "1"}  # pexpect answers no cursor-position requests
    chat = pexpect.spawn(sys.executable, ["-m", "linernotes", "chat", "Fixture Song", "--llm", "none",
                                          "--store", str(store)], cwd=str(ROOT), env=env, encoding="utf-8",
                         timeout=40, dimensions=(40, 120))
    try:
        chat.expect("linernotes chat")
        chat.expect("you>")
        chat.send("What key is it in at 0:12?" + "\r")  # Enter is a carriage return in raw mode
        chat.expect("At 0:12 the key is C major")
        chat.expect("you>")
        chat.send("and at 0:45?" + "\r")  # Enter is a carriage return in raw mode
        chat.expect("At 0:45 the key is A minor")
        chat.expect("you>")
        chat.send("/songs" + "\r")  # Enter is a carriage return in raw mode
        chat.expect(r"Fixture\s+Song:\s+1:00")
        chat.expect("you>")
        chat.send("/describe /etc/passwd" + "\r")  # Enter is a carriage return in raw mode
        chat.expect(r"refused: /etc/passwd\s+is\s+outside\s+the\s+allowed\s+folders")  # rich may wrap it
        chat.expect("you>")
        chat.send("/thread" + "\r")  # Enter is a carriage return in raw mode
        chat.expect(r"thread [0-9a-f]{12}")
        chat.expect("you>")
        chat.sendeof()
        chat.expect(pexpect.EOF)
    finally:
        chat.close()
    assert chat.exitstatus == 0
