"""Batch render: a manifest of prompts -> takes in a folder, resumable, on local worker processes or a Ray cluster."""
