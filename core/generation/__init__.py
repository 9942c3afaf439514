"""Making takes: a request -> conditions -> codes -> a take; melody conditions; variations decoded together."""
