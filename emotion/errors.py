"""The two kinds of failure, one base each, so that callers catch a kind rather than a list:

    InputError  what the user gave cannot be used (audio, a clip id, a manifest); the message
                says what to do instead. A ValueError.
    SetupError  what this installation holds is missing or altered (a checkpoint, the encoder
                weights, an optional package, a download); the message names the fix. A RuntimeError.

Each module's own exception (AudioError, CheckpointError, ...) derives from one of them.
"""


class InputError(ValueError):
    """Input that cannot be used; the message tells the user what to do about it."""


class SetupError(RuntimeError):
    """A missing or altered file or package; the message names the fix."""
