"""Golden MOSNet scores from a TensorFlow/Keras build of the authors' ``cnn_blstm.h5``.

A one-off reference for ``tests/test_mosnet.py``, in two steps run by two interpreters:

    # 1. with the project's venv: crop the clean clips and make their Codec 2 700C and Opus 6 kbps
    #    decodes (written to tests/golden/mosnet_audio/ as 16-bit FLAC), list them in the JSON
    .venv/bin/python benchmarks/mosnet_reference.py audio
    # 2. with a throwaway TensorFlow venv (NOT a project dependency):
    #    python3 -m venv /tmp/tfvenv
    #    /tmp/tfvenv/bin/pip install tensorflow-cpu h5py soundfile numpy scipy librosa
    /tmp/tfvenv/bin/python benchmarks/mosnet_reference.py score

Step 2 builds the network with Keras layers whose hyper-parameters are read from the file's
``model_config`` (Keras 3 cannot deserialise a Keras 2.1.2 config as it stands), sets every layer's
weights from the file, and scores each clip's magnitude spectrogram made by *librosa* (not by the
project's torch code): ``librosa.stft(n_fft=512, hop_length=256, win_length=512,
window=scipy.signal.windows.hamming(512, sym=True), center=True)``, ``|·|``, transposed to
``[T, 257]``. Both centring pads are recorded: ``reflect`` (the authors' 2019 librosa; the golden
``score``) and ``constant`` (librosa ≥ 0.10's default; ``score_zero_pad``).

The LSTM's recurrent activation is Keras **2.1.2**'s ``hard_sigmoid``, ``clip(0.2·x + 0.5, 0, 1)``,
given as a function: the string ``"hard_sigmoid"`` means ``relu6(x + 3) / 6`` in Keras 3, another
function (the JSON also records what that mistake would score, ``score_keras3_hard_sigmoid``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO.parent / "shared" / "models" / "mosnet" / "cnn_blstm.h5"
AUDIO_DIR = REPO / "tests" / "golden" / "mosnet_audio"
GOLDEN = REPO / "tests" / "golden" / "mosnet_reference.json"
SHARED_TEST_CLEAN = REPO.parent / "shared" / "data" / "speech" / "librispeech" / "test-clean"
MAX_SECONDS = 6.0
SR = 16000
#: (folder, utterance id): four from the in-repo default set, three test-clean speakers.
SOURCES: tuple[tuple[Path, str], ...] = (
    (REPO / "bench" / "data" / "default", "librivox-sns01-0870"),
    (REPO / "bench" / "data" / "default", "librivox-sns01-0880"),
    (REPO / "bench" / "data" / "default", "cmu-numbers"),
    (REPO / "bench" / "data" / "default", "cmu-goforward"),
    (SHARED_TEST_CLEAN, "1089-134686-0000"),
    (SHARED_TEST_CLEAN, "121-121726-0000"),
    (SHARED_TEST_CLEAN, "260-123286-0000"),
)
CODECS = ("codec2@700", "opus@6kbps")


def pcm_sha256(wav: np.ndarray) -> str:
    """SHA-256 of ``wav [S]`` as little-endian int16 PCM (as ``bench.audio.pcm_sha256``)."""
    pcm = np.clip(np.round(np.asarray(wav, dtype=np.float64) * 32768.0), -32768, 32767)
    return hashlib.sha256(pcm.astype("<i2").tobytes()).hexdigest()


def rel(path: Path) -> str:
    """``path`` relative to the repository (``../shared/…`` for the shared folder)."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(Path("..") / path.resolve().relative_to(REPO.parent))


def read_clip(entry: dict[str, object]) -> np.ndarray:
    """The first ``samples`` samples of the entry's file ``[S]`` (float32), checked by hash."""
    import soundfile as sf

    path = REPO / str(entry["path"])
    wav, sr = sf.read(str(path), dtype="float32", always_2d=True)
    assert sr == SR, (path, sr)
    wav = wav[: int(entry["samples"]), 0]  # type: ignore[call-overload]
    if pcm_sha256(wav) != entry["pcm_sha256"]:
        raise SystemExit(f"{path}: content differs from the golden list (pcm_sha256)")
    return wav


# ------------------------------------------------------------------------------ step 1: audio
def make_audio() -> None:
    """Write the degraded clips and the golden list (scores filled in by ``score``)."""
    import soundfile as sf
    import torch

    sys.path.insert(0, str(REPO))
    from audiocodecs import get_codec

    AUDIO_DIR.mkdir(parents=True, exist_ok=True)
    codecs = {name: get_codec(name) for name in CODECS}
    clips = []
    for folder, uid in SOURCES:
        path = folder / f"{uid}.flac"
        wav, sr = sf.read(str(path), dtype="float32")
        assert sr == SR
        wav = wav[: int(MAX_SECONDS * SR)]
        clips.append({"clip": f"{uid}__clean", "condition": "clean", "path": rel(path),
                      "samples": len(wav), "pcm_sha256": pcm_sha256(wav)})  # fmt: skip
        for name, codec in codecs.items():
            out = codec.roundtrip(torch.from_numpy(wav)[None, None], SR).wav[0, 0].numpy()
            out = np.clip(out, -1.0, 32767 / 32768)
            dest = AUDIO_DIR / f"{uid}__{name.replace('@', '-')}.flac"
            sf.write(str(dest), out, SR, subtype="PCM_16")
            back, _ = sf.read(str(dest), dtype="float32")
            clips.append({"clip": f"{uid}__{name}", "condition": name, "path": rel(dest),
                          "samples": len(back), "pcm_sha256": pcm_sha256(back)})  # fmt: skip
    GOLDEN.write_text(json.dumps({"clips": clips}, indent=1) + "\n")
    print(f"wrote {len(clips)} clips' list to {rel(GOLDEN)}; decodes in {rel(AUDIO_DIR)}")


# ------------------------------------------------------------------------------ step 2: score
def keras2_hard_sigmoid(x):  # type: ignore[no-untyped-def]
    """Keras 2.1.2's ``hard_sigmoid``."""
    import tensorflow as tf

    return tf.clip_by_value(0.2 * x + 0.5, 0.0, 1.0)


def build_keras(path: Path, recurrent_activation: object):  # type: ignore[no-untyped-def]
    """The CNN-BLSTM as a Keras model, layer by layer from ``model_config``, weights set."""
    import h5py
    import keras

    if callable(recurrent_activation):  # Bidirectional rebuilds its layers from their configs
        recurrent_activation = keras.saving.register_keras_serializable("mosnet_reference")(
            recurrent_activation
        )
    with h5py.File(path, "r") as fh:
        config = json.loads(fh.attrs["model_config"])
        weights = fh["model_weights"]
        layers = config["config"]["layers"]
        assert [layer["name"] for layer in layers] == [
            n.decode() for n in weights.attrs["layer_names"]
        ]
        inp = keras.Input(shape=(None, 257))
        x = inp
        setters = []
        for layer in layers[1:]:
            cls, cfg, name = layer["class_name"], layer["config"], layer["name"]
            if cls == "Reshape":
                made = keras.layers.Reshape(tuple(cfg["target_shape"]), name=name)
            elif cls == "Conv2D":
                made = keras.layers.Conv2D(
                    cfg["filters"], tuple(cfg["kernel_size"]), strides=tuple(cfg["strides"]),
                    padding=cfg["padding"], activation=cfg["activation"], name=name,
                )  # fmt: skip
            elif cls == "Bidirectional":
                inner = cfg["layer"]["config"]
                assert inner["recurrent_activation"] == "hard_sigmoid"
                forward, backward = (
                    keras.layers.LSTM(
                        inner["units"], activation=inner["activation"],
                        recurrent_activation=recurrent_activation,
                        return_sequences=inner["return_sequences"],
                        unit_forget_bias=inner["unit_forget_bias"], go_backwards=back,
                    )
                    for back in (False, True)
                )  # fmt: skip
                made = keras.layers.Bidirectional(
                    forward, backward_layer=backward, merge_mode=cfg["merge_mode"], name=name
                )
            elif cls == "TimeDistributed":
                inner = cfg["layer"]
                if inner["class_name"] == "Flatten":
                    made = keras.layers.TimeDistributed(keras.layers.Flatten(), name=name)
                else:
                    made = keras.layers.TimeDistributed(
                        keras.layers.Dense(inner["config"]["units"],
                                           activation=inner["config"]["activation"]),
                        name=name,
                    )  # fmt: skip
            elif cls == "Dropout":
                made = keras.layers.Dropout(cfg["rate"], name=name)
            elif cls == "GlobalAveragePooling1D":
                made = keras.layers.GlobalAveragePooling1D(name=name)
            else:
                raise SystemExit(f"unexpected layer {cls}")
            x = made(x)
            group = weights[name]
            names = [n.decode() for n in group.attrs["weight_names"]]
            if names:
                setters.append((made, [group[n][()] for n in names], names))
        model = keras.Model(inp, x)
    for made, arrays, names in setters:
        if isinstance(made, keras.layers.Bidirectional):  # file: forward k, rk, b; backward …
            assert [n.split("/")[1] for n in names] == ["forward_lstm_1"] * 3 + [
                "backward_lstm_1"
            ] * 3, names
            made.forward_layer.set_weights(arrays[:3])
            made.backward_layer.set_weights(arrays[3:])
        else:
            made.set_weights(arrays)
        if isinstance(made, keras.layers.Bidirectional):  # the activation the layers really use
            for lstm in (made.forward_layer, made.backward_layer):
                got = float(lstm.cell.recurrent_activation(keras.ops.convert_to_tensor(1.0)))
                print(f"{lstm.name}: recurrent_activation(1.0) = {got:.4f}", file=sys.stderr)
    return model


def spectrogram(wav: np.ndarray, pad_mode: str) -> np.ndarray:
    """The authors' features with librosa: ``[T, 257]`` float32."""
    import librosa
    import scipy.signal

    spec = librosa.stft(
        wav, n_fft=512, hop_length=256, win_length=512,
        window=scipy.signal.windows.hamming(512, sym=True), center=True, pad_mode=pad_mode,
    )  # fmt: skip
    return np.abs(spec).T.astype(np.float32)


def score() -> None:
    """Score every clip of the golden list with the Keras build; write the scores back."""
    import keras
    import librosa
    import tensorflow as tf

    golden = json.loads(GOLDEN.read_text())
    model = build_keras(WEIGHTS, keras2_hard_sigmoid)
    keras3_model = build_keras(WEIGHTS, "hard_sigmoid")

    def run(net, feats: np.ndarray) -> float:  # type: ignore[no-untyped-def]
        # Called eagerly, one clip at a time. Not `net.predict`: with this Keras it keeps the
        # function traced for the first clip's length and gave other lengths wrong scores
        # (seen: 4.06 called directly, 3.21 from `predict` after a longer clip).
        return float(np.asarray(net(feats, training=False)).reshape(-1)[0])

    for entry in golden["clips"]:
        wav = read_clip(entry)
        feats = {mode: spectrogram(wav, mode)[None] for mode in ("reflect", "constant")}
        entry["score"] = run(model, feats["reflect"])
        entry["score_zero_pad"] = run(model, feats["constant"])
        entry["score_keras3_hard_sigmoid"] = run(keras3_model, feats["reflect"])
        print(f"{entry['clip']:40s} {entry['score']:.5f}  zero-pad {entry['score_zero_pad']:.5f}"
              f"  keras3 hard_sigmoid {entry['score_keras3_hard_sigmoid']:.5f}")  # fmt: skip
    golden["reference"] = {
        "weights": rel(WEIGHTS),
        "weights_sha256": hashlib.sha256(WEIGHTS.read_bytes()).hexdigest(),
        "built_with": f"tensorflow {tf.__version__}, keras {keras.__version__}, "
        f"librosa {librosa.__version__}, numpy {np.__version__} (CPU, float32)",
        "features": "|librosa.stft(n_fft=512, hop_length=256, win_length=512, "
        "window=scipy.signal.windows.hamming(512, sym=True), center=True, pad_mode)|.T",
        "score": "pad_mode='reflect', LSTM recurrent_activation clip(0.2x + 0.5, 0, 1) "
        "(Keras 2.1.2 hard_sigmoid, as saved)",
        "score_zero_pad": "the same with pad_mode='constant' (librosa >= 0.10's default)",
        "score_keras3_hard_sigmoid": "reflect, but the LSTM built with Keras 3's "
        "'hard_sigmoid' = relu6(x + 3) / 6 (NOT the saved model; shows why it matters)",
        "script": "benchmarks/mosnet_reference.py",
    }
    GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {rel(GOLDEN)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("step", choices=["audio", "score"], help="audio: project venv; score: TF venv")
    args = p.parse_args()
    make_audio() if args.step == "audio" else score()


if __name__ == "__main__":
    main()
