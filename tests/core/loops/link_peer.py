"""A second Ableton Link peer for tests, in its own process: it starts a session at a tempo and changes it on demand.

Run as a script by `LinkPeer` (`python link_peer.py BPM`): it prints "ready" once Link is enabled, then reads
"tempo BPM" lines from stdin; for each it waits until it has found another peer (so that the tempo is set in the
shared session, not in its own one that a merge would replace), sets the session's tempo (a DAW moving its tempo)
and answers "ok". It leaves the session and exits when stdin closes. Two Link peers on one machine find each
other over loopback multicast.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

TIMEOUT_S = 30  # Link finds a peer within about a second on loopback; generous for a busy machine


class LinkPeer:
    """`with LinkPeer(97.0) as peer: ... peer.set_tempo(133.33)`: another program in the Link session."""

    def __init__(self, bpm: float) -> None:
        self.bpm = bpm
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> LinkPeer:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), str(self.bpm)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._expect("ready")
        return self

    def set_tempo(self, bpm: float) -> None:
        """Set the shared session's tempo once the peer has found another one, as a DAW does when its tempo moves."""
        self.process.stdin.write(f"tempo {bpm}\n")
        self.process.stdin.flush()
        self._expect("ok")

    def _expect(self, word: str) -> None:
        line = self.process.stdout.readline().strip()
        assert line == word, f"the Link peer answered {line!r}, not {word!r} (exit code {self.process.poll()})"

    def __exit__(self, *exc_info) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


def main() -> None:
    import link

    session = link.Link(float(sys.argv[1]))
    session.enabled = True
    print("ready", flush=True)
    for line in sys.stdin:
        _command, bpm = line.split()
        deadline = time.monotonic() + TIMEOUT_S
        while session.numPeers() < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        state = session.captureAppSessionState()
        state.setTempo(float(bpm), session.clock().micros())
        session.commitAppSessionState(state)
        print("ok", flush=True)
    session.enabled = False


if __name__ == "__main__":
    main()
