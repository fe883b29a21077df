"""The known corpus layouts: how each names its files, read into manifest rows (label, speaker,
split) by emotion.training.manifest.layout_manifest.

    ravdess  MM-VV-EE-II-SS-RR-AA names; speech, plus song as split=train with --song
    emodb    03a01Fa.wav: speaker 03, emotion letter W/L/E/A/F/T/N
    cremad   1001_DFA_ANG_XX.wav
    tess     OAF_angry/OAF_back_angry.wav
    nemo     EB0_anger_12.flac: speaker EB0, emotion anger|fear|happiness|neutral|sadness|surprised
    korean   ema/ema00101.flac: speaker ema, take 1-100 neutral, 101-200 happiness, 201-300 anger, 301-400 sadness

EmoDB, CREMA-D, TESS, nEMO and the Korean set share one vocabulary (anger, boredom, disgust, fear,
happiness, neutral, pleasant_surprise, sadness, surprised), so their manifests can be joined;
emotion.training.corpora maps it onto RAVDESS's names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional

from ..data.ravdess import parse_name

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
EMODB = dict(W="anger", L="boredom", E="disgust", A="fear", F="happiness", T="sadness", N="neutral")
CREMAD = dict(ANG="anger", DIS="disgust", FEA="fear", HAP="happiness", NEU="neutral", SAD="sadness")
TESS = dict(angry="anger", disgust="disgust", fear="fear", happy="happiness", neutral="neutral", sad="sadness")
TESS.update(dict.fromkeys(("ps", "pleasant_surprise", "pleasant_surprised"), "pleasant_surprise"))  # three spellings
NEMO = ("anger", "fear", "happiness", "neutral", "sadness", "surprised")
KOREAN = ("neutral", "happiness", "anger", "sadness")  # takes 1-100, 101-200, 201-300, 301-400 of each speaker


def audio_files(root: Path) -> List[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def _ravdess(path: Path, song: bool) -> Optional[dict]:
    try:
        p = parse_name(path.name)
    except ValueError:
        return None
    if p.channel == "song" and not song:
        return dict(skip="song (add --song)")
    return dict(label=p.emotion, speaker=f"{p.actor:02d}", split="cv" if p.channel == "speech" else "train")


def _emodb(path: Path) -> Optional[dict]:
    m = re.match(r"^(\d{2})([a-z]\d{2})([WLEAFTN])[a-z]?$", path.stem)
    return dict(label=EMODB[m.group(3)], speaker=m.group(1)) if m else None


def _cremad(path: Path) -> Optional[dict]:
    parts = path.stem.split("_")
    if len(parts) < 3 or not parts[0].isdigit() or parts[2].upper() not in CREMAD:
        return None
    return dict(label=CREMAD[parts[2].upper()], speaker=parts[0])


def _tess(path: Path) -> Optional[dict]:
    speaker, _, emotion = path.parent.name.partition("_")  # OAF_angry, YAF_pleasant_surprised
    emotion = TESS.get(emotion.lower()) or TESS.get(path.stem.split("_")[-1].lower())
    if not emotion:
        return None
    return dict(label=emotion, speaker=(speaker or path.stem.split("_")[0]).upper())


def _nemo(path: Path) -> Optional[dict]:
    m = re.match(r"^([A-Z]{2}\d)_([a-z]+)_\d+$", path.stem)  # EB0_anger_12
    return dict(label=m.group(2), speaker=m.group(1)) if m and m.group(2) in NEMO else None


def _korean(path: Path) -> Optional[dict]:
    m = re.match(r"^([a-z]{3})(\d{5})$", path.stem)  # ema00101: the take number says the emotion
    take = int(m.group(2)) if m else 0
    return dict(label=KOREAN[(take - 1) // 100], speaker=m.group(1)) if 1 <= take <= 400 else None


LAYOUTS = dict(ravdess=_ravdess, emodb=_emodb, cremad=_cremad, tess=_tess, nemo=_nemo, korean=_korean)
