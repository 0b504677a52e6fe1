"""Copy export lines: the clipboard command gets the text on stdin; no tool: clear advice."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from aws_sso_tray.tray import clipboard


def test_the_text_reaches_the_clipboard_tool_on_stdin(tmp_path: Path) -> None:
    sink = tmp_path / "clip.txt"
    tool = tmp_path / "fake-xclip"
    body = f"import sys\nopen({str(sink)!r}, 'wb').write(sys.stdin.buffer.read())\n"
    tool.write_text(f"#!{sys.executable}\n{body}")
    tool.chmod(0o755)
    text = "export AWS_ACCESS_KEY_ID=ASIAEXAMPLE\n"
    assert clipboard.copy(text, candidates=[[str(tool), "-selection", "clipboard"]]) is None
    assert sink.read_text() == text


def test_a_failing_tool_is_reported(tmp_path: Path) -> None:
    tool = tmp_path / "broken"
    tool.write_text("#!/bin/sh\nexit 3\n")
    tool.chmod(0o755)
    problem = clipboard.copy("x", candidates=[[str(tool)]])
    assert problem is not None and "copying failed with" in problem


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="Linux advice")
def test_no_tool_says_what_to_install(tmp_path: Path) -> None:
    problem = clipboard.copy("x", candidates=[[str(tmp_path / "absent")]])
    assert problem == f"no clipboard tool found: {clipboard.LINUX_HINT}"
    assert "xclip" in problem and "wl-clipboard" in problem


def test_commands_follow_the_session() -> None:
    assert clipboard.commands({"WAYLAND_DISPLAY": "wayland-0"}, "linux")[0][0] == "wl-copy"
    assert [c[0] for c in clipboard.commands({"DISPLAY": ":0"}, "linux")] == ["xclip", "xsel"]
    assert clipboard.commands({}, "linux") == []
    assert clipboard.commands({}, "darwin") == [["pbcopy"]]
    assert clipboard.commands({}, "win32") == [["clip"]]
