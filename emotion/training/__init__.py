"""The training programs: datasets and augmentation, training, evaluation, download.

    python -m emotion.training.train --data-dir DIR ...      # fold models -> checkpoint
    python -m emotion.training.manifest --layout emodb DIR   # a manifest (path,label,speaker) of a corpus
    python -m emotion.training.train --manifest FILE ...     # any corpus and label set -> checkpoint
    python -m emotion.training.evaluate --data-dir DIR ...   # metrics of a checkpoint
    python -m emotion.training.data download --dest DIR      # fetch RAVDESS from Zenodo
    python -m emotion.training.robustness --data-dir DIR     # accuracy under noise, reverb, telephone

They import the inference library (emotion.*); the library never imports them.
"""


def program(name: str, doc: str):
    """The argument parser of `python -m emotion.training.NAME`, with its module's docstring as the help."""
    import argparse

    return argparse.ArgumentParser(
        prog=f"python -m emotion.training.{name}", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
