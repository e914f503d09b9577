"""A real terminal for the tests: a tmux server of the test's own (``-L``), one bash in
one pane; type into it, read its screen, and wait for what a user would see."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROMPT = "ready$ "


class Tmux:
    def __init__(self, socket: str, env: dict[str, str], columns: int = 160, rows: int = 50):
        assert shutil.which("tmux"), "tmux is not installed: run scripts/install-system-deps"
        self.socket, self.columns, self.rows = socket, columns, rows
        # A server of our own starts with this environment: the pane's shell inherits it
        # (but an interactive bash sets its own prompt: the rc file sets ours).
        self.rcfile = tempfile.NamedTemporaryFile("w", suffix=".bashrc", delete=False)  # noqa: SIM115
        self.rcfile.write(f"PS1='{PROMPT}'\n")
        self.rcfile.close()
        self._tmux(
            "-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", str(columns),
            "-y", str(rows), f"bash --noprofile --rcfile {self.rcfile.name}", env=env,
        )  # fmt: skip
        try:  # pane lines lose their trailing blanks: the prompt is seen without its space
            self.wait_for(lambda screen: PROMPT.rstrip() in screen, 30)
        except BaseException:
            self.close()  # the caller never gets this terminal to close it
            raise

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30, env=env
        )
        assert done.returncode == 0, f"tmux {args[0]}: {done.stderr}"
        return done.stdout

    def type(self, line: str) -> None:
        """Type ``line`` and Enter."""
        self._tmux("send-keys", "-t", "main", "-l", line)
        self._tmux("send-keys", "-t", "main", "Enter")

    def keys(self, *keys: str) -> None:
        """Send keys by tmux name (``C-c``)."""
        self._tmux("send-keys", "-t", "main", *keys)

    def screen(self, colours: bool = False) -> str:
        """What the pane shows now (``colours``: with its escape sequences)."""
        return self._tmux("capture-pane", "-p", "-t", "main", *(["-e"] if colours else []))

    def display(self, fmt: str) -> str:
        return self._tmux("display-message", "-p", "-t", "main", fmt).strip()

    def wait_for(self, seen: Callable[[str], object], timeout: float) -> str:
        """The screen once ``seen(screen)`` holds; fails with the last screen after ``timeout``."""
        end = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if seen(screen):
                return screen
            assert time.monotonic() < end, f"not seen within {timeout} s; the screen:\n{screen}"
            time.sleep(0.2)  # a poll interval, not a wait for something to happen

    def wait_for_text(self, pattern: str, timeout: float) -> re.Match[str]:
        screen = self.wait_for(lambda s: re.search(pattern, s, re.MULTILINE), timeout)
        match = re.search(pattern, screen, re.MULTILINE)
        assert match is not None
        return match

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)
        Path(self.rcfile.name).unlink(missing_ok=True)
