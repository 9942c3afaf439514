"""Loops that sit in a DAW project: tempo and downbeat estimation, bar-exact music loops, seamless ambience loops."""
