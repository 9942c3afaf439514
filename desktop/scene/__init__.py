"""The scene dock: takes as layers on one timeline, mixed, played and exported as stems."""
