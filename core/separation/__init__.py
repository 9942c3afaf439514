"""Source separation with demucs' HTDemucs: loading it, applying it with a seeded shift, splitting takes."""
