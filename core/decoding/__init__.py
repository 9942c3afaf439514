"""Turning the LM's logits into codes: sampling, autoregressive decoding with delay, MAGNeT's masked decoding."""
