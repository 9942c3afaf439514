"""Follow tempo (Ableton Link): the window's switch that makes the tempo fields follow a DAW's Link session."""
