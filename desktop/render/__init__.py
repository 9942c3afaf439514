"""Render a manifest from the window: review its rows, then run the batch render as a queued job."""
