"""The loop seam: equal-power crossfades that make a loop's last sample flow into its first.

A loop is `x[start : start + length]` played over and over. Its head is blended with the audio that follows
its end in the source (the "tail"), so that when playback wraps from sample `length - 1` (= x[start+length-1])
to sample 0 it hears x[start+length], exactly what followed in the source, and over the crossfade the tail
gives way to the loop's own head:

    loop[i] = x[start + length + i] * cos(pi/2 * i/X) + x[start + i] * sin(pi/2 * i/X),   0 <= i < X

(equal power: the gains' squares sum to 1, so uncorrelated material keeps its level through the fade).
Where the source ends too soon after the loop, the audio before `start` (the "pre-roll") is blended into the
loop's end instead, which is the same seam seen from the other side; with neither, the fade is shortened to
what there is.
"""

from __future__ import annotations

import numpy as np


def equal_power(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(fade_out, fade_in) gains [n] with fade_out[0] = 1, fade_in[0] = 0 and out^2 + in^2 = 1."""
    phase = np.arange(n, dtype=np.float64) / max(n, 1) * (np.pi / 2)
    return np.cos(phase).astype(np.float32), np.sin(phase).astype(np.float32)


def blend_seam(x: np.ndarray, start: int, length: int, crossfade: int) -> tuple[np.ndarray, int]:
    """The loop x[:, start:start+length] [C, length] with its seam blended; returns it and the fade used."""
    total = x.shape[-1]
    assert 0 <= start and start + length <= total, "the loop must lie inside the source"
    loop = np.array(x[:, start : start + length], dtype=np.float32, copy=True)  # [C, L]
    after, before = total - (start + length), start
    fade = min(crossfade, length // 2)
    if fade <= 0:
        return loop, 0
    fade = min(fade, max(after, before))
    if fade <= 0:
        return loop, 0
    if after >= fade:
        out, fade_in = equal_power(fade)
        loop[:, :fade] = x[:, start + length : start + length + fade] * out + loop[:, :fade] * fade_in
        return loop, fade
    # pre-roll: the loop's end fades into what came before its start, reaching it at the last sample
    fade_in, out = equal_power(fade)
    fade_in, out = fade_in[::-1], out[::-1]  # in: ... -> 1 at the last sample; out: ... -> 0
    loop[:, length - fade :] = loop[:, length - fade :] * out + x[:, start - fade : start] * fade_in
    return loop, fade
