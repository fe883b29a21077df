"""Speech over instrument music is still a voice: the shipped voice gate (emotion.model.gate) on clips of
the four shared corpora mixed with FluidR3-rendered music at several speech-to-music ratios.

    python benchmarks/gate_mixtures.py [--data-dir ../shared/data] [--clips 24]

Prints, per ratio, how many mixtures the gate refuses and the lowest voice probability.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np
import torch

from emotion import audio
from emotion.predictor import Predictor
from emotion.training import nonspeech


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--clips", type=int, default=24)
    args = ap.parse_args()
    predictor = Predictor.from_checkpoint()
    files = sorted(args.data_dir.rglob("*.flac"))
    pick = [files[i] for i in np.random.default_rng(0).choice(len(files), args.clips, replace=False)]
    families = list(nonspeech.FAMILIES)
    for snr in (20, 10, 5, 0, -5):
        clips = []
        for k, path in enumerate(pick):
            voice = audio.load_audio(path)
            music = nonspeech.render_music(900 + k, families[k % len(families)], len(voice) / audio.SAMPLE_RATE + 0.1)
            music = np.pad(music, (0, max(0, len(voice) - len(music))))[: len(voice)]
            scale = np.sqrt((voice**2).mean()) / (np.sqrt((music**2).mean()) + 1e-9) * 10 ** (-snr / 20)
            mix = voice + music * scale
            clips.append(audio.pad_or_trim(mix / max(1.0, float(np.abs(mix).max()))))
        with torch.inference_mode():
            x = predictor.models[0].select(predictor.states(predictor.features(torch.from_numpy(np.stack(clips)))))
        p = predictor.gate.voice(x).numpy()
        refused = int((~predictor.gate.is_voice(torch.from_numpy(p))).sum())
        print(f"speech {snr:+d} dB over music: refused {refused} of {len(p)}, lowest voice probability {p.min():.3f}")


if __name__ == "__main__":
    main()
