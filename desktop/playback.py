"""Playback through sounddevice: streams start and stop on the GUI thread; the callback only copies samples.

A machine without PortAudio or without any output device still runs the app: every PortAudio problem
becomes an `error(message)` signal for the status line, never an exception out of a slot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)

POLL_MS = 30
"""How often the GUI thread reads the play position (playhead) and notices the end of the sound."""

try:  # PortAudio itself may be missing (no libportaudio2): playback is then unavailable, nothing else.
    import sounddevice as sd

    _IMPORT_ERROR: str | None = None
except OSError as exc:  # pragma: no cover - depends on the machine
    sd = None
    _IMPORT_ERROR = str(exc)


@dataclass
class _Cursor:
    """State shared with the audio callback: the samples, the read position and the loop flag."""

    frames: np.ndarray  # [N, C] float32, the layout PortAudio wants
    position: int = 0
    loop: bool = False
    done: bool = False
    growing: bool = False  # more samples will be appended: at the end, wait (silence) instead of stopping


def _make_callback(cursor: _Cursor):
    def callback(outdata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        written = 0
        total = len(cursor.frames)
        while written < frames:
            if cursor.position >= total:
                if cursor.growing:  # caught up with a sound still being generated: wait for more
                    outdata[written:] = 0
                    return
                if not cursor.loop:
                    outdata[written:] = 0
                    cursor.done = True
                    raise sd.CallbackStop
                cursor.position = 0
            count = min(frames - written, total - cursor.position)
            outdata[written : written + count] = cursor.frames[cursor.position : cursor.position + count]
            cursor.position += count
            written += count

    return callback


def output_devices() -> list[tuple[int, str]]:
    """(index, name) of every output device PortAudio sees; empty when there is none or no PortAudio."""
    if sd is None:
        return []
    try:
        devices = sd.query_devices()
    except Exception as exc:  # PortAudioError and friends: no devices to offer
        log.warning("cannot list audio devices: %s", exc)
        return []
    return [(i, d["name"]) for i, d in enumerate(devices) if d.get("max_output_channels", 0) > 0]


class Player(QObject):
    """Plays one sound at a time; `key` names what is playing (a take id) so views can show it."""

    started = Signal(object)  # key
    stopped = Signal(object)  # key
    position = Signal(object, float)  # key, seconds
    error = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._device: int | str | None = None
        self._stream: Any = None
        self._cursor: _Cursor | None = None
        self._rate = 1
        self._key: object = None
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)

    @property
    def available(self) -> bool:
        return sd is not None

    @property
    def playing_key(self) -> object:
        return self._key if self._stream is not None else None

    def is_playing(self, key: object = None) -> bool:
        return self._stream is not None and (key is None or key == self._key)

    def set_device(self, device: int | str | None) -> None:
        """Output device for the next play (None: the system default)."""
        self._device = device

    @property
    def device(self) -> int | str | None:
        return self._device

    def set_loop(self, loop: bool) -> None:
        if self._cursor is not None:
            self._cursor.loop = loop

    def play(self, key: object, samples: np.ndarray, sample_rate: int, loop: bool = False) -> bool:
        """Start playing `samples` [C, N] from the top; returns False (and emits `error`) if it cannot."""
        self.stop()
        if sd is None:
            self.error.emit(f"Playback is unavailable: {_IMPORT_ERROR}.")
            return False
        frames = np.ascontiguousarray(np.asarray(samples, dtype=np.float32).T)  # [N, C]
        if frames.shape[0] == 0:
            self.error.emit("This take holds no audio to play.")
            return False
        cursor = _Cursor(frames=frames, loop=loop)
        stream = self._open_stream(cursor, sample_rate)
        if stream is None:
            return False
        self._stream, self._cursor, self._rate, self._key = stream, cursor, sample_rate, key
        self._timer.start()
        self.started.emit(key)
        return True

    def play_growing(self, key: object, samples: np.ndarray, sample_rate: int) -> bool:
        """Play `samples` [C, N] that `append` will extend (a take being generated); when playback catches up
        it waits in silence, then continues; `end_growing` lets it stop at the end."""
        if not self.play(key, samples, sample_rate):
            return False
        self._cursor.growing = True
        return True

    def append(self, key: object, samples: np.ndarray) -> None:
        """More samples [C, n] for the growing sound `key` (ignored when something else plays)."""
        cursor = self._cursor
        if cursor is None or key != self._key or not cursor.growing:
            return
        more = np.asarray(samples, dtype=np.float32).T  # [n, C]
        if more.shape[1] != cursor.frames.shape[1]:  # a mono sound opened as stereo
            more = np.repeat(more[:, :1], cursor.frames.shape[1], axis=1)
        cursor.frames = np.ascontiguousarray(np.concatenate([cursor.frames, more]))  # one reference swap

    def seek(self, key: object, seconds: float) -> None:
        """Go on playing `key` from `seconds` (ignored when something else plays)."""
        cursor = self._cursor
        if cursor is not None and key == self._key:
            cursor.position = min(max(0, int(seconds * self._rate)), len(cursor.frames))

    def end_growing(self, key: object) -> None:
        """The sound `key` is complete: playback stops at its end."""
        if self._cursor is not None and key == self._key:
            self._cursor.growing = False

    def stop(self) -> None:
        """Stop and close the stream (GUI thread); emits `stopped` if something was playing."""
        stream, key = self._stream, self._key
        if stream is None:
            return
        self._timer.stop()
        self._stream = self._cursor = None
        _close_quietly(stream)
        self.stopped.emit(key)

    def _open_stream(self, cursor: _Cursor, sample_rate: int) -> Any:
        channels = cursor.frames.shape[1]
        attempts = [channels] + ([2] if channels == 1 else [])
        last_error: Exception | None = None
        for out_channels in attempts:
            if out_channels != channels:  # a device that refuses mono gets the mono signal on both sides
                cursor.frames = np.ascontiguousarray(np.repeat(cursor.frames, out_channels, axis=1))
            try:
                stream = sd.OutputStream(
                    samplerate=sample_rate,
                    channels=out_channels,
                    dtype="float32",
                    device=self._device,
                    callback=_make_callback(cursor),
                )
            except Exception as exc:  # sd.PortAudioError, ValueError for a bad device
                last_error = exc
                continue
            try:
                stream.start()
                return stream
            except Exception as exc:  # an opened stream that cannot start is closed, not left to PortAudio
                last_error = exc
                _close_quietly(stream)
        self.error.emit(_no_output_message(last_error, self._device))
        return None

    def _poll(self) -> None:
        cursor = self._cursor
        if cursor is None:
            return
        self.position.emit(self._key, min(cursor.position, len(cursor.frames)) / self._rate)
        if cursor.done or (self._stream is not None and not self._stream.active and not cursor.growing):
            self.stop()


def _close_quietly(stream: Any) -> None:
    """Stop and close `stream`; close even when stop fails (PortAudio may fail on a vanished device)."""
    for step in (stream.stop, stream.close):
        try:
            step()
        except Exception as exc:
            log.warning("closing the audio stream failed: %s", exc)


NO_OUTPUT_DEVICE = (
    "No sound output was found: connect headphones or speakers (or choose an output in File ▸ Preferences), "
    "then press Play again."
)


def _no_output_message(exc: Exception | None, device: int | str | None) -> str:
    """What the status line says when no stream opens. PortAudio's "Error querying device -1" means the system
    has no default output device (-1 is PortAudio's "no device"): that becomes a sentence a user can act on."""
    text = str(exc) if exc is not None else ""
    if device is None and ("device -1" in text or not output_devices()):
        return NO_OUTPUT_DEVICE
    return f"Cannot play audio on this machine ({_describe(exc)})."


def _describe(exc: Exception | None) -> str:
    text = str(exc) if exc is not None else "no output device"
    return text.rstrip(".") or type(exc).__name__
