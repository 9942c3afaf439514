"""Exceptions a user can cause, each carrying a sentence a user understands."""


class SoundDeskError(Exception):
    """Base class for errors shown to the user as one readable line."""


class ModelNotFoundError(SoundDeskError):
    """A model reference names no catalog id, hub repository or local folder we can use."""


class CheckpointError(SoundDeskError):
    """A checkpoint file is missing, unreadable, unsafe or not in the audiocraft release format."""


class AudioFileError(SoundDeskError):
    """An audio file cannot be read or holds no usable audio."""


class InvalidParameterError(SoundDeskError):
    """A generation or export parameter is out of range."""


class ExportError(SoundDeskError):
    """A file could not be written (disk full, permission denied, file exists)."""


class GenerationCancelled(Exception):
    """Raised inside core loops when the caller's cancel token was set; not an error."""


class InsufficientMemoryError(SoundDeskError):
    """A model would not fit in the memory this machine has free; raised before loading it."""
