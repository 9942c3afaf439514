"""The takes side of the window: the library list, the selected take's details, and drag-out."""
