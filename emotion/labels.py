"""Names, written once: RAVDESS's eight emotions and how speakers are keyed.

Every checkpoint stores its own label list; EMOTIONS is RAVDESS's, the product's default and the
order of its emotion codes. Code that can serve another label set takes the labels it is given
(a checkpoint's, a manifest's) and never falls back to EMOTIONS silently.
"""

from __future__ import annotations

# Index i is the RAVDESS emotion code i + 1 ("01" neutral ... "08" surprised).
EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")


def speaker_key(speaker) -> str:
    """A speaker compared as text, numbers without leading zeros: RAVDESS actor 3, "03" and "3"
    are one speaker; a manifest's "OAF" is itself."""
    text = str(speaker).strip()
    return str(int(text)) if text.isdigit() else text


def speaker_id(speaker):
    """A speaker as the library shows it and RAVDESS numbers it: an int for a number (actor 3, "03"),
    else the text ("emodb-08"). The Predictor reads a checkpoint's speakers so."""
    text = str(speaker).strip()
    return int(text) if text.isdigit() else text


def stored_speaker(speaker):
    """A speaker as a run stores it (JSON, torch.load(weights_only)): ints (RAVDESS actors) stay
    ints, anything else is text as given ("03" stays "03"), so a manifest's speakers sort as text."""
    import numbers

    return int(speaker) if isinstance(speaker, numbers.Integral) else str(speaker)


def natural_key(value) -> tuple:
    """Sort key: numbers numerically ("2" < "10"), before any text."""
    text = str(value)
    return (0, int(text), "") if text.isdigit() else (1, 0, text)
