"""SoundDesk desktop application: the Qt window over the core engine."""
