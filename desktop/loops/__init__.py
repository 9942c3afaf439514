"""The window's loop features: the "Make loop" dialog and the queued job that writes a loop take."""
