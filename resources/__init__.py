"""Icons, the stylesheet and parameter presets of the SoundDesk window (data files, no code)."""
