"""The training programs: datasets and augmentation, training, evaluation, download.

    python -m emotion.training.train --data-dir DIR ...      # fold models -> checkpoint
    python -m emotion.training.manifest --layout emodb DIR   # a manifest (path,label,speaker) of a corpus
    python -m emotion.training.train --manifest FILE ...     # any corpus and label set -> checkpoint
    python -m emotion.training.evaluate --data-dir DIR ...   # metrics of a checkpoint
    python -m emotion.training.data download --dest DIR      # fetch RAVDESS from Zenodo
    python -m emotion.training.robustness --data-dir DIR     # accuracy under noise, reverb, telephone

The modules, by job:

    corpora, layouts, manifest      the corpora as data (one adapter each) -> manifests (path,label,speaker)
    data, download                  the torch Dataset and augmentation; fetching RAVDESS
    recipes, folds, step            every default once; the one speaker-fold loop; the one train step
    cnn, heads, encoder_cache       the two recipes: the CNN from scratch; heads on cached encoder states
    train, runs, compare            a checkpoint from folds; what a run writes; comparing runs
    evaluate, robustness            out-of-fold metrics; accuracy under noise, reverberation, telephone
    crosscorpus, loco, unfamiliar   corpora never heard: side by side, leave one corpus out, familiarity
    voice_gate, nonspeech           the voice gate, fitted on speech against rendered music and tones
    near_tie                        the near-tie margin (emotion.clarity)
    speakers, conversations         the speaker-count threshold, on synthetic conversations

They import the inference library (emotion.*); the library never imports them, nor do they import the UI.
"""


def program(name: str, doc: str):
    """The argument parser of `python -m emotion.training.NAME`, with its module's docstring as the help."""
    import argparse

    return argparse.ArgumentParser(
        prog=f"python -m emotion.training.{name}", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
