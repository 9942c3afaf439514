"""Takes on disk: the take files, the library and its history, atomic writes, audio import and file names."""
