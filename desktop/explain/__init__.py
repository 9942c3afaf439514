"""The explain panel (words shaded by their AudioGenX score) and its controller."""
