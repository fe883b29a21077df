"""The label list, written once. Every other place derives from it (and checkpoints store it)."""

# Index i is the RAVDESS emotion code i + 1 ("01" neutral ... "08" surprised).
EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
