"""The model: from a 16-kHz wave to logits over the checkpoint's labels, and the checkpoint that
says which model it is.

    features         log-mel spectrograms: the CNN's 64 bands, Whisper's 80 (training and inference alike)
    whisper_weights  the Whisper-base weights, offline: two registry packages -> checked bytes -> state dict
    encoder          the frozen Whisper-base audio encoder, blocks 1-4, run once for all heads
    precision        which float precision the encoder runs in (fp32, or bf16 where the CPU has it)
    nets             the networks: EmotionNet (the CNN fallback), EncoderHead and HeadStack (the
                     BiLSTM heads on the encoder's states)
    backbone         the two backbones as objects, chosen once from a checkpoint or a recipe
    checkpoint       the checkpoint format: build, validate, verify, load; the default's path
    gate             is it a voice? the learned gate on the encoder's states (music and tones get no emotion)
    familiarity      how far a recording sounds from the clips the model was trained on

The voice gate lives here, not in emotion.audio: it is a learned model on the encoder's states, and
the front end stays free of models. The networks are exported (`from emotion.model import EncoderHead`).
May import: emotion.audio, emotion.errors, emotion.labels.
"""

from .nets import EmotionNet, EncoderHead, HeadConfig, HeadStack, ModelConfig

__all__ = ["EmotionNet", "ModelConfig", "EncoderHead", "HeadConfig", "HeadStack"]
