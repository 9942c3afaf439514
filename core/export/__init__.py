"""Export for DAWs: settings, sample-level DSP, loudness, file metadata, the writer, and scenes of layered takes."""
