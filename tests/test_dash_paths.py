"""`describe -song.wav`: an argument that looks like an option but names an existing file is a path."""

from __future__ import annotations

import pytest

from linernotes.batch.command import dash_paths, option_strings
from linernotes.main import _parser


@pytest.fixture
def in_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-song.wav").write_bytes(b"RIFF")
    (tmp_path / "-q").write_bytes(b"RIFF")  # a file named like a real option
    return tmp_path


def _parse(argv: list[str]):
    parser = _parser()
    return parser.parse_args(["describe", *dash_paths(argv, options=option_strings(parser))])


def test_a_path_starting_with_a_dash_is_taken_as_a_path(in_folder):
    arguments = _parse(["-song.wav", "--json"])
    assert arguments.paths == ["./-song.wav"] and arguments.json
    assert (in_folder / arguments.paths[0]).resolve() == (in_folder / "-song.wav").resolve()
    assert _parse(["other.wav", "-song.wav", "-o", "out.md"]).paths == ["other.wav", "./-song.wav"]


def test_without_it_argparse_refuses_the_path(in_folder):
    with pytest.raises(SystemExit):
        _parser().parse_args(["describe", "-song.wav"])


def test_double_dash_still_works_and_options_stay_options(in_folder):
    assert _parse(["--json", "--", "-song.wav"]).paths == ["-song.wav"]
    arguments = _parse(["-q", "a.wav", "--format=md"])
    assert arguments.quiet and arguments.paths == ["a.wav"] and arguments.format == "md"


def test_a_dash_argument_naming_no_file_is_still_an_unknown_option(in_folder):
    assert dash_paths(["-missing.wav"], options=option_strings(_parser())) == ["-missing.wav"]
    with pytest.raises(SystemExit):
        _parse(["a.wav", "-missing.wav"])


def test_the_describe_command_reads_a_dash_named_file(in_folder, capsys):
    from linernotes.main import describe_command

    # The file is named "-song.wav" but holds four bytes: the error is about the file, not the option.
    assert describe_command(["-song.wav", "--no-store", "--llm", "none"]) == 2
    error = capsys.readouterr().err.strip()
    assert "unrecognized arguments" not in error and "-song.wav" in error and len(error.splitlines()) == 1
