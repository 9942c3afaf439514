"""core.loops.link_session against a real second Link peer: SoundDesk's session finds it, counts it and follows the
tempo it sets; a missing binding or a Link that fails to start is a sentence, not a traceback.

The second peer is another process on this machine (tests/core/loops/link_peer.py); the two find each other over
loopback multicast, as a DAW and SoundDesk on one laptop do. Which tempo the merged session starts with is Link's
choice (the older session's, when one is older by more than Link's margin), so the test sets one after they met.
"""

from __future__ import annotations

import sys
import time
import types

import pytest

from core.loops.link_session import LinkSession, LinkState, LinkUnavailableError
from tests.core.loops.link_peer import LinkPeer

DISCOVERY_TIMEOUT_S = 30  # Link finds a peer within about a second on loopback; generous for a busy machine


def wait_for(session: LinkSession, condition) -> LinkState:
    """Poll the session until `condition(state)` holds; the last state when it never does (the assert shows it)."""
    deadline = time.monotonic() + DISCOVERY_TIMEOUT_S
    while True:
        state = session.state()
        if condition(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def test_session_takes_and_follows_a_second_peers_tempo():
    with LinkPeer(97.0) as peer:
        session = LinkSession(120.0)
        try:
            peer.set_tempo(97.0)  # the DAW's tempo, once the two are in one session
            state = wait_for(session, lambda s: s.peers >= 1 and s.bpm == 97.0)
            assert state.peers >= 1 and state.bpm == 97.0
            assert state.describe().startswith(f"Link: {state.peers} peer") and "97 BPM" in state.describe()
            peer.set_tempo(133.33)  # the DAW's tempo moves
            state = wait_for(session, lambda s: s.bpm == 133.33)
            assert state.bpm == 133.33
        finally:
            session.close()
        session.close()  # twice is harmless
    with pytest.raises(LinkUnavailableError, match="closed"):
        session.state()


def test_state_is_what_the_tempo_fields_take():
    assert LinkState(97.254, 1).bpm == 97.25
    assert LinkState(999.0, 2).bpm == 400.0 and LinkState(10.0, 2).bpm == 20.0  # Link allows 20-999 BPM
    assert LinkState(120.0, 0).describe() == "Link: no peers yet (switch Link on in your DAW)"
    assert LinkState(97.5, 2).describe() == "Link: 2 peers, 97.5 BPM"


def test_missing_binding_is_a_sentence(monkeypatch):
    monkeypatch.setitem(sys.modules, "link", None)  # what `import link` meets when the package is not installed
    with pytest.raises(LinkUnavailableError, match="needs the LinkPython-extern package"):
        LinkSession()


def test_binding_that_does_not_load_is_a_sentence(monkeypatch):
    class MissingLibrary:  # the native module fails as it does when a system library it links is absent
        def find_spec(self, name, path=None, target=None):
            if name == "_link":
                raise ImportError("libatomic.so.1: cannot open shared object file: No such file or directory")

    monkeypatch.delitem(sys.modules, "link", raising=False)
    monkeypatch.delitem(sys.modules, "_link", raising=False)
    monkeypatch.setattr(sys, "meta_path", [MissingLibrary(), *sys.meta_path])
    with pytest.raises(LinkUnavailableError, match="installed but does not load: libatomic.so.1"):
        LinkSession()


def test_link_that_cannot_start_is_a_sentence(monkeypatch):
    broken = types.ModuleType("link")

    def refuse(_bpm):
        raise OSError("no network interface")

    broken.Link = refuse
    monkeypatch.setitem(sys.modules, "link", broken)
    with pytest.raises(LinkUnavailableError, match="Ableton Link could not start: no network interface"):
        LinkSession()
