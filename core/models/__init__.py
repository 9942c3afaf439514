"""Which models exist and how their release files become loaded objects: catalog, hub, checkpoints, capabilities."""
