"""Exceptions a user can cause, each carrying a sentence a user understands."""


class SoundDeskError(Exception):
    """Base class for errors shown to the user as one readable line."""


class ModelNotFoundError(SoundDeskError):
    """A model reference names no catalog id, hub repository or local folder we can use."""


class ModelNotDownloadedError(ModelNotFoundError):
    """A hub model missing from the local cache while the hub cannot be used (offline, or unreachable).

    `sentence(way_out)` lets each front end say what to do in its own words: the CLI's default speaks of
    arguments, the window of its menus.
    """

    CLI_WAY_OUT = "download it once with network access, or pass a local model folder"

    def __init__(self, repo_id: str, offline: bool, way_out: str = CLI_WAY_OUT) -> None:
        self.repo_id, self.offline, self.way_out = repo_id, offline, way_out
        super().__init__(self.sentence(way_out))

    def sentence(self, way_out: str) -> str:
        reason = "offline mode is on" if self.offline else "the hub cannot be reached"
        return f"'{self.repo_id}' is not downloaded yet and {reason}: {way_out}."

    def __reduce__(self):  # pickles (worker processes) with its fields, not only its sentence
        return (type(self), (self.repo_id, self.offline, self.way_out))


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
