"""SoundDesk engine: loads Meta's audiocraft checkpoints and generates, explains and exports takes (no Qt)."""
