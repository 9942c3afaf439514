"""A peer in the Ableton Link session on this network: the session's tempo and peer count, read when asked.

Ableton Live, Bitwig, Reason and many other programs share their tempo over Link: every program on the local
network that enables Link joins one session, and a peer that joins takes the session's tempo. SoundDesk joins
as a listener: it never sets the tempo, it only reads it (and how many other peers there are), so that its
bar-exact takes and loops are made at the tempo of the DAW's project.

The binding (LinkPython-extern, imported as `link`) is imported only when a session is joined, so nothing else
needs it; a missing binding or a Link that cannot start raises LinkUnavailableError with a sentence a user can
act on.
Reading is cheap and thread-safe (Link's `captureAppSessionState`); SoundDesk registers no Link callbacks, so no
Python code ever runs on Link's own threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from core.errors import SoundDeskError
from core.loops.meter import MAX_BPM, MIN_BPM

BINDING = "LinkPython-extern"
DEFAULT_BPM = 120.0


class LinkUnavailableError(SoundDeskError):
    """Ableton Link cannot be used here: its binding is not installed, or Link failed to start."""


@dataclass(frozen=True)
class LinkState:
    """One reading of the session: its tempo in BPM (quarter notes per minute) and the number of other peers."""

    tempo: float
    peers: int

    @property
    def bpm(self) -> float:
        """The tempo as SoundDesk's tempo fields take it: to 0.01 BPM, within MIN_BPM..MAX_BPM."""
        return min(max(round(self.tempo, 2), MIN_BPM), MAX_BPM)

    def describe(self) -> str:
        """For a status bar: "Link: 2 peers, 97.5 BPM", or a hint when no other program has joined yet."""
        if self.peers == 0:
            return "Link: no peers yet (switch Link on in your DAW)"
        return f"Link: {self.peers} peer{'s' * (self.peers != 1)}, {round(self.tempo, 2):g} BPM"


def import_binding() -> ModuleType:
    """The Link binding's module (raises LinkUnavailableError, saying what to install, when it is missing)."""
    try:
        import link  # LinkPython-extern
    except ImportError as exc:  # not installed, or its native library cannot load (a system library missing)
        if isinstance(exc, ModuleNotFoundError) and exc.name in ("link", "_link"):
            why = f"needs the {BINDING} package, which is not installed (pip install {BINDING})"
        else:
            why = f"needs the {BINDING} package, which is installed but does not load: {exc}"
        raise LinkUnavailableError(f"Following a DAW's tempo {why}.") from exc
    return link


class LinkSession:
    """Joins the Link session when made (raises LinkUnavailableError); `state()` reads it; `close()` leaves it.

    `bpm` is the tempo this peer starts with; it is the session's tempo only while no other peer is there, and
    the session's tempo replaces it as soon as one is found.
    """

    def __init__(self, bpm: float = DEFAULT_BPM) -> None:
        link = import_binding()
        try:
            self._link = link.Link(float(bpm))
            self._link.enabled = True
        except Exception as exc:  # whatever the native library raises, the app goes on
            raise LinkUnavailableError(f"Ableton Link could not start: {exc or type(exc).__name__}.") from exc

    def state(self) -> LinkState:
        """The session's tempo and the number of other peers, now."""
        if self._link is None:
            raise LinkUnavailableError("This Link session was closed.")
        return LinkState(float(self._link.captureAppSessionState().tempo()), int(self._link.numPeers()))

    def close(self) -> None:
        """Leave the session (stops Link's network traffic and threads); closing twice is harmless."""
        if self._link is not None:
            self._link.enabled = False
            self._link = None
