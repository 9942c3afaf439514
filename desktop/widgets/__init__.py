"""Small reusable widgets: the waveform and spectrogram views, the folder field."""
