"""`python main.py` opens the window: a real process with its own HOME, logging under the user log folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.conftest import ROOT


def test_main_opens_the_window_and_logs(tmp_path):
    env = dict(os.environ)
    env.update(
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_MUSIC_DIR=str(tmp_path / "Music"),
        QT_QPA_PLATFORM="offscreen",
    )
    log = tmp_path / "state" / "SoundDesk" / "log" / "sounddesk.log"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py")], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if log.is_file() and "window shown" in log.read_text():
                break
            time.sleep(0.2)
        assert process.poll() is None, process.stdout.read().decode(errors="replace")
        assert "window shown" in log.read_text()
        # The take library was opened in this HOME's music folder (made if missing), never a hidden data folder.
        assert (tmp_path / "Music" / "SoundDesk" / "sounddesk-library.sqlite").is_file()
    finally:
        process.terminate()
        process.wait(30)
