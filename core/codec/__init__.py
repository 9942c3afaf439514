"""The audio tokenizer: EnCodec between waveforms and RVQ codes, loaded from a release's compression file."""
