"""Compact mode: a small always-on-top window beside the DAW that shares the main window's queue and library."""
