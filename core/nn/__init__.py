"""The networks: the transformer LM with its KV cache and fast linears, the delay pattern, conditioners and chroma."""
