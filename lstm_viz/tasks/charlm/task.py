"""The character-level language model as an lstm-viz task: ``CHARLM`` and its model ``CharModel``.

``CharModel`` is the research ``CharLM`` (Embedding → RecordingLSTM → Linear, the same module names, so the same
state_dict keys and the same initial weights for the same seed) as an ``LSTMVizModel``: its config is a
``ModelConfig`` of kind ``"charlm"`` (``input_size`` = the embedding's width, ``output_size`` = the vocabulary,
``hidden_size``, ``num_layers``, ``proj_size``, ``dropout``), ``forward(x, interventions=None)`` returns the logits
of the next character, ``record`` every gate and state, ``rnn()``/``head()``/``rnn_input()`` let interventions and
the ablation sweep run on it, and ``step(x, hx)`` carries the state across chunks (training, generation).

Inputs are token ids ``(B, T)``, one per character (``inputs.py`` reads typed text and files); ``forward`` and
``record`` also take the embedded input ``(B, T, E)``. The answer to a text is the next-character distribution:
bits per character on the text, how often the first guess is right, and the likeliest characters after its end.
Training is the TBPTT loop of ``loop.py``, driven by the engine one block of steps per "epoch"; its recipe settings
are ``train.py``'s ``TrainConfig`` and ``model.py``'s ``CharLMConfig`` fields, each a flag of ``python -m lstm_viz
train charlm`` (generated from the dataclasses, so a new field gets a flag).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from lstm_viz.core.interventions import Intervention
from lstm_viz.core.recording import Recording
from lstm_viz.parsing import InputError
from lstm_viz.tasks.base import (
    Answer,
    LSTMVizModel,
    PlainWeights,
    Task,
    TaskData,
    TaskInput,
    TrainingLoop,
    TrainingOption,
    make_rnn,
)
from lstm_viz.tasks.charlm.data import VOCAB, VOCAB_SIZE, encode
from lstm_viz.tasks.charlm.inputs import EXAMPLE, MAX_TEXT_CHARS, decode_file, text_input
from lstm_viz.tasks.charlm.model import CharLMConfig
from lstm_viz.tasks.charlm.stdlib import (
    load_corpus,
    manifest_note,
    read_validation_file,
    validation_paths,
    validation_windows,
)
from lstm_viz.tasks.charlm.tbptt import TrainConfig
from lstm_viz.tasks.config import ModelConfig

__all__ = ["CHARLM", "CharLMTask", "CharModel", "generate", "generate_stream", "next_char_table"]

LN2 = math.log(2.0)


# ----------------------------------------------------------------------------------------------------------- model
class CharModel(LSTMVizModel):
    """Token ids ``(B, T)`` → logits of the next character ``(B, T, vocab)``: Embedding → RecordingLSTM → Linear."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__(config or CHARLM.default_config())
        c = self.config
        self.embed = nn.Embedding(c.output_size, c.input_size)
        self.lstm = make_rnn(c)
        self.fc = nn.Linear(c.real_hidden_size, c.output_size)

    def rnn_input(self, x: Tensor) -> Tensor:
        """Ids ``(B, T)`` → their embedding ``(B, T, E)``; an embedded input passes as it is."""
        if isinstance(x, Tensor) and x.is_floating_point() and x.dim() == 3:
            return x
        if not isinstance(x, Tensor) or x.dim() != 2 or x.is_floating_point() or x.dtype == torch.bool:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            hint = " — add a batch dimension with x.unsqueeze(0)" if isinstance(x, Tensor) and x.dim() == 1 else ""
            raise ValueError(f"a character model reads token ids of shape (batch, time) (integers from "
                             f"lstm_viz.tasks.charlm.data.encode), or embeddings (batch, time, "
                             f"{self.config.input_size}); got {shape}{hint}")  # fmt: skip
        if x.numel() == 0:
            raise ValueError(f"input has an empty batch or no time steps: shape {tuple(x.shape)}")
        if int(x.min()) < 0 or int(x.max()) >= self.config.output_size:
            raise ValueError(f"token ids must be in 0..{self.config.output_size - 1}, "
                             f"got {int(x.min())}..{int(x.max())}")
        return self.embed(x.to(self.device))

    def forward(self, x: Tensor, interventions: Sequence[Intervention] | None = None) -> Tensor:
        """``(B, T)`` ids (or ``(B, T, E)`` embeddings) → ``(B, T, vocab)`` logits (under ``interventions``)."""
        return self.head(self.rnn_output(self.rnn_input(x), interventions))

    def head(self, rnn_out: Tensor) -> Tensor:
        """``(B, T, size of h)`` → ``(B, T, vocab)`` logits of the next character."""
        return self.fc(rnn_out)

    def step(self, x: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Ids ``(B, T)`` from state ``hx`` → ``(logits, (h_n, c_n))``: pass the state back to go on (TBPTT, text
        generation). The research ``CharLM.forward``."""
        out, state = self.lstm(self.embed(x), hx)
        return self.fc(out), state

    def record(
        self,
        x: Tensor,
        interventions: Sequence[Intervention] | None = None,
        hx: tuple[Tensor, Tensor] | None = None,
    ) -> Recording:
        """Every gate and state for ids ``(B, T)`` (or embeddings), from state ``hx`` (zeros by default)."""
        return self.lstm.record(self.rnn_input(x), hx, interventions=interventions)


MAX_FORGET_BIAS = 100.0  # a sigmoid is 1 to float32's precision from 17 on: larger values only overflow later


def _init_forget_bias(model: CharModel, value: float) -> None:
    """The forget gate's bias at init, as ``CharLM`` sets it: ``b_if = value``, ``b_hf = 0`` in every layer."""
    H = model.config.hidden_size
    with torch.no_grad():
        for k in range(model.config.num_layers):
            getattr(model.lstm, f"bias_ih_l{k}")[H : 2 * H] = value  # storage order i, f, g, o
            getattr(model.lstm, f"bias_hh_l{k}")[H : 2 * H] = 0.0


# ------------------------------------------------------------------------------------------------------ answers
def next_char_table(logits: Tensor, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` likeliest next characters after every step: ids ``(T, k)`` and probabilities ``(T, k)``."""
    probs = torch.softmax(logits.float(), dim=-1)
    top = probs.topk(min(k, probs.shape[-1]), dim=-1)
    return top.indices.cpu().numpy(), top.values.cpu().numpy()


def _shown(ch: str) -> str:
    return {"\n": "⏎", "\t": "⇥", " ": "␣"}.get(ch, ch)


MAX_GENERATED = 100_000  # characters one call writes at most
MAX_TEMPERATURE = 10.0  # past it, sampling is noise


def generate(model: CharModel, prompt: str, chars: int = 400, temperature: float = 0.8, seed: int = 0) -> str:
    """``chars`` characters after ``prompt``, sampled from the model at ``temperature`` (0: always the likeliest
    character); reproducible for a ``seed``. Returns only the new text. An empty prompt starts the text as a line
    starts: the model reads one newline first (the start of a training file reads the same), which is not returned."""
    return "".join(generate_stream(model, prompt, chars, temperature, seed))


def generate_stream(
    model: CharModel, prompt: str, chars: int = 400, temperature: float = 0.8, seed: int = 0
) -> Iterator[str]:
    """:func:`generate`, one character at a time as each is sampled (the same characters for the same seed), for a
    caller that shows the text as it is written or may stop early. The arguments are checked at the call."""
    if isinstance(chars, bool) or not isinstance(chars, int) or not 0 <= chars <= MAX_GENERATED:
        raise InputError(f"the number of characters must be a whole number from 0 to {MAX_GENERATED:,}, got {chars!r}")
    if (isinstance(temperature, bool) or not isinstance(temperature, (int, float))
            or not 0 <= temperature <= MAX_TEMPERATURE):  # fmt: skip
        raise InputError(f"the temperature must be a number from 0 to {MAX_TEMPERATURE:g} (0: always the likeliest), "
                         f"got {temperature!r}")
    return _sample(model, prompt, chars, temperature, seed)


def _sample(model: CharModel, prompt: str, chars: int, temperature: float, seed: int) -> Iterator[str]:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            gen = torch.Generator().manual_seed(int(seed))
            ids = torch.from_numpy(encode(prompt or "\n")).unsqueeze(0).to(model.device)
            logits, state = model.step(ids)
            for _ in range(chars):
                last = logits[0, -1].float().cpu()
                last[0] = -math.inf  # never write <unk>
                if temperature == 0:
                    nxt = int(last.argmax())
                else:
                    # shifted so the likeliest is 0 first: a tiny temperature then gives 0 and -inf, not inf - inf
                    scaled = (last.double() - last.max()) / temperature
                    nxt = int(torch.multinomial(torch.softmax(scaled, -1), 1, generator=gen))
                yield VOCAB[nxt]
                logits, state = model.step(torch.tensor([[nxt]], device=model.device), state)
    finally:
        model.train(was_training)


# ----------------------------------------------------------------------------------------------- training options
_GENERIC = {"batch_size", "lr", "seed", "hidden_size", "num_layers", "proj_size"}  # flags every task has
_FIXED = {"vocab_size"}  # the task's vocabulary
_RENAMED = {"max_seconds": "minutes"}  # TrainConfig.max_seconds is given in minutes (as the research script does)
_ALIASES = {  # the research script's spellings (python -m lstm_viz.tasks.charlm.train), so its commands carry over
    "embed_size": ("--embed",), "seq_len": ("--seq",), "warmup_steps": ("--warmup",), "weight_decay": ("--wd",),
    "clip_norm": ("--clip",), "final_lr_ratio": (), "forget_bias": (), "minutes": (), "max_chars": (),
}  # fmt: skip
_HELP = {
    "embed_size": "width of the character embedding (the LSTM's input size)",
    "dropout": "dropout between stacked LSTM layers",
    "forget_bias": "forget-gate bias at init (b_if; b_hf = 0); unset keeps PyTorch's init",
    "seq_len": "characters per stream per step: the truncation length of back-propagation through time",
    "final_lr_ratio": "the cosine schedule ends at lr × this",
    "warmup_steps": "steps of linear learning-rate warmup",
    "weight_decay": "AdamW's weight decay",
    "clip_norm": "gradient clipping: the largest global gradient norm",
    "activation_l1": "L1 penalty on the activations: the loss gains this × Σ over layers of mean |h|, for units "
                     "that each do one thing (0: none)",
    "max_chars": "stop after this many training characters (e.g. 2e7; the last step of batch × seq-len may pass it)",
    "minutes": "stop after this many minutes of training (the learning rate decays over the run's length)",
    "log_every": "steps per block: one line of metrics (one engine 'epoch') per block",
    "eval_every": "steps between validation bits-per-character evaluations (0: only at the end)",
    "eval_chars": "validation characters each evaluation during the run reads",
    "val_chars": "validation characters the final evaluation reads (0: all)",
}


def _reader(hint: Any) -> tuple[Any, str]:
    """A command-line reader for a dataclass field's type hint (``int``, ``float``, ``int | None`` …)."""
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    kind = args[0]
    if kind is bool:
        return (lambda text: str(text).strip().lower() in ("1", "true", "yes", "on")), "true|false"
    if kind is int:
        def read_int(text: str) -> int:
            value = float(text)
            if not value.is_integer():
                raise ValueError(f"{text!r} is not a whole number")
            return int(value)

        read_int.__name__ = "whole number"  # argparse says "invalid whole number value: 'nan'"
        return read_int, "N"
    return kind, "X"  # float: NaN and inf are refused by the recipe's own checks, which name the rule


# A quick run, and the shipped model's: 50 M characters (about 4.5 passes over the training files), a length that
# does not depend on the machine (51–54 minutes on one thread of the 2-core VM that made models/charlm_python.pt),
# with an L1 penalty of 0.05 on the activations (a bracket-depth unit that holds on text it was not picked on). The
# quick run is the same recipe cut to 10 minutes, penalty included (measured: 1.452 bits per character against
# 1.461 without it, and one string cell for both kinds of string, AUROC 0.91 against 0.75; models/README.md).
_RECIPE = dict(lr=2e-3, batch_size=16, shuffle=False, epochs=None, seq_len=128, warmup_steps=100, final_lr_ratio=0.05,
               weight_decay=0.0, clip_norm=1.0, log_every=25, eval_every=1000, eval_chars=100_000)  # fmt: skip
SHIPPED_CHARS = 50_000_000
SHIPPED_L1 = 0.05
_PRESETS = {"fast": {**_RECIPE, "minutes": 10.0, "activation_l1": SHIPPED_L1},
            "shipped": {**_RECIPE, "max_chars": SHIPPED_CHARS, "activation_l1": SHIPPED_L1}}  # fmt: skip


def _options() -> tuple[TrainingOption, ...]:
    found = []
    for cls in (CharLMConfig, TrainConfig):
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name in _GENERIC or f.name in _FIXED:
                continue
            name = _RENAMED.get(f.name, f.name)
            reader, _ = _reader(float | None if name == "minutes" else hints[f.name])
            flags = (f"--{name.replace('_', '-')}", *_ALIASES.get(name, ()))
            default = f.default if f.default is not dataclasses.MISSING else None
            if name in _RECIPE:  # both presets set it: their value is what a run gets
                default = _RECIPE[name]
            shown = "" if name == "minutes" or default is None else f" (default {default})"
            found.append(TrainingOption(name, flags, reader, None, _HELP.get(name, f"{cls.__name__}.{f.name}") + shown))
    found.append(TrainingOption("val_chars", ("--val-chars",), _reader(int)[0], None, _HELP["val_chars"]))
    return tuple(found)


# ----------------------------------------------------------------------------------------------------------- task
class CharLMTask(Task):
    """Next-character prediction on Python source (the stdlib), trained with truncated BPTT."""

    kind: ClassVar[str] = "charlm"
    title: ClassVar[str] = "character-level language model on Python source"
    post: ClassVar[str] = "Karpathy's char-rnn: an LSTM reads Python source one character at a time"
    model_class: ClassVar[type[LSTMVizModel]] = CharModel
    fixed: ClassVar[dict[str, Any]] = dict(output_size=VOCAB_SIZE, cell="lstm", bidirectional=False)
    defaults: ClassVar[dict[str, Any]] = dict(input_size=64, hidden_size=384, num_layers=2)
    training_names: ClassVar[dict[str, dict[str, Any]]] = {"charlm": {}}
    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {"charlm": _PRESETS}
    data_sources: ClassVar[tuple[str, ...]] = ("stdlib",)
    progress_keys: ClassVar[tuple[str, ...]] = ("train_bpc", "val_bpc")
    reads_text: ClassVar[bool] = True
    max_input_steps: ClassVar[int] = MAX_TEXT_CHARS
    training_options: ClassVar[tuple[TrainingOption, ...]] = _options()
    file_types: ClassVar[tuple[str, ...]] = ("py", "txt")
    ablation_measure: ClassVar[str] = "share of next-character guesses (top-1) that change"
    ablation_data: ClassVar[str] = "24 windows of 128 characters of validation files"

    def label(self, config: ModelConfig) -> str:
        proj = f"→{config.proj_size}" if config.proj_size else ""
        layers = f"{config.num_layers}×" if config.num_layers > 1 else ""
        return f"charlm LSTM({layers}{config.hidden_size}{proj}, embedding {config.input_size})"

    def recipe(self, name: str, preset: str) -> dict[str, Any]:
        if preset not in _PRESETS:
            shipped = f"{SHIPPED_CHARS / 1e6:.0f} M characters, --activation-l1 {SHIPPED_L1}"
            raise InputError(f"the character model has no preset {preset!r}; choose {' or '.join(_PRESETS)} (the "
                             f"shipped model's recipe cut to 10 minutes, or that recipe whole: {shipped})")  # fmt: skip
        return dict(_PRESETS[preset])

    def training_config(
        self, name: str, *, hidden_size: int | None, proj_size: int, num_layers: int, bidirectional: bool
    ) -> ModelConfig:
        if bidirectional:
            raise InputError("a language model reads left to right: --bidirectional does not apply to charlm")
        options: dict[str, Any] = {"proj_size": proj_size, "num_layers": num_layers}
        if hidden_size is not None:
            options["hidden_size"] = hidden_size
        try:
            return self.default_config(**options)
        except ValueError as err:
            raise InputError(str(err)) from None

    def configure(self, config: ModelConfig, options: Mapping[str, Any]) -> ModelConfig:
        bias = options.get("forget_bias")
        if bias is not None and not (math.isfinite(float(bias)) and abs(float(bias)) <= MAX_FORGET_BIAS):
            raise InputError(f"--forget-bias must be a finite number from {-MAX_FORGET_BIAS:g} to {MAX_FORGET_BIAS:g} "
                             f"(e.g. 1.0), got {bias!r}")  # fmt: skip
        val_chars = options.get("val_chars")
        if val_chars is not None and int(val_chars) < 0:
            raise InputError(f"--val-chars must be ≥ 0 (0: all the validation text), got {val_chars!r}")
        changes = {}
        if options.get("embed_size") is not None:
            if int(options["embed_size"]) < 1:
                raise InputError(f"--embed must be at least 1 (the embedding's width, e.g. 64), got "
                                 f"{options['embed_size']!r}")  # fmt: skip
            changes["input_size"] = int(options["embed_size"])
        if options.get("dropout") is not None:
            changes["dropout"] = float(options["dropout"])
        try:
            return dataclasses.replace(config, **changes)
        except ValueError as err:
            raise InputError(str(err)) from None

    def init_model(self, model: nn.Module, options: Mapping[str, Any]) -> None:
        if options.get("forget_bias") is not None:
            _init_forget_bias(model, float(options["forget_bias"]))

    def recognise(self, weights: PlainWeights) -> tuple[ModelConfig, dict[str, Tensor], str] | None:
        head = weights.head
        embed, fc_w, fc_b = head.get("embed.weight"), head.get("fc.weight"), head.get("fc.bias")
        if set(head) != {"embed.weight", "fc.weight", "fc.bias"} or embed is None or embed.dim() != 2:
            return None
        options = weights.options
        if embed.shape[0] != VOCAB_SIZE or options["input_size"] != embed.shape[1] or options["cell"] != "lstm":
            return None
        config = self.default_config(**{**weights.options, "output_size": VOCAB_SIZE})
        state = {f"lstm.{k}": v for k, v in weights.rnn.items()}
        state.update({"embed.weight": embed, "fc.weight": fc_w, "fc.bias": fc_b})
        return config, state, f"{weights.name}{weights.where} with a character embedding and head, read as a charlm"

    # ---- data and training
    def make_data(self, source: str = "stdlib", seed: int = 0) -> TaskData:
        corpus = load_corpus()
        train = torch.from_numpy(corpus.train_ids)
        val = torch.from_numpy(corpus.val_ids)
        return TaskData(self, train, train, val, val, source=source, meta={"manifest": corpus.manifest})

    def training_loop(self, model, data, *, lr, batch_size, seed, options, state=None) -> TrainingLoop:
        from lstm_viz.tasks.charlm.loop import TBPTTLoop, train_config

        if batch_size is None:
            raise InputError("the character model trains on batches of parallel streams: give --batch-size N")
        config = train_config(options, lr=lr, batch_size=batch_size, seed=seed)
        return TBPTTLoop(model, data.x_train, data.x_test, config, options, state)

    def data_note(self, meta: Mapping[str, Any], current: Mapping[str, Any] | None = None) -> str:
        return manifest_note(meta.get("manifest") if isinstance(meta, Mapping) else None, current)

    def evaluate(self, model: nn.Module, data: TaskData, splits: tuple[str, ...] = ("train", "test")) -> dict:
        return {}  # the loop evaluates (bits per character on the validation text)

    # ---- inputs
    def feature_names(self, config: ModelConfig) -> tuple[str, ...]:
        """The LSTM reads the characters' embeddings: components e0 … e{E−1} (the characters are ``step_labels``)."""
        return tuple(f"e{k}" for k in range(config.input_size))

    def example(self, config: ModelConfig) -> str:
        return EXAMPLE

    def input_label(self, config: ModelConfig) -> str:
        return f"Python source (or any text), up to {MAX_TEXT_CHARS:,} characters"

    def input_modes(self, config: ModelConfig) -> dict[str, str]:
        return {"type": "Type or paste", "random": "A random validation file", "file": "Upload a .py / .txt file"}

    def parse(self, text: str, config: ModelConfig) -> TaskInput:
        return text_input(text, "typed", config.input_size)

    def read_file(self, data: bytes, name: str, config: ModelConfig) -> TaskInput:
        return text_input(decode_file(data, name), name, config.input_size)

    def second_example(self, config: ModelConfig, first: TaskInput) -> str:
        """The text with its first double quote turned into a single one (or a quote added in front)."""
        text = first.source_text or EXAMPLE
        return text.replace('"', "'", 1) if '"' in text else '"' + text

    def check_length(self, length: object) -> int:
        if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= MAX_TEXT_CHARS:
            raise InputError(f"The length must be a whole number of characters from 1 to {MAX_TEXT_CHARS:,}, got "
                             f"{length!r}. Example: 64")  # fmt: skip
        return length

    def random_input(self, config: ModelConfig, length: int, generator: torch.Generator, seed: int) -> TaskInput:
        """The start of a validation file of the running stdlib (by the split rule) chosen by ``seed``: its first
        ``length`` characters (the Gate Explorer asks for the most it records, ``MAX_TEXT_CHARS``)."""
        self.check_length(length)
        paths = validation_paths()
        order = torch.randperm(len(paths), generator=torch.Generator().manual_seed(seed)).tolist()
        for k in order[:20]:
            text = read_validation_file(paths[k])
            if text.strip():
                what = f"validation file {paths[k]} (seed {seed})"
                if length < min(len(text), MAX_TEXT_CHARS):
                    text, what = text[:length], f"the first {length:,} characters of {what}"
                return text_input(text, what, config.input_size)
        raise InputError("no validation file of the standard library could be read on this server; type a text")

    def csv_example(self, config: ModelConfig) -> str:
        return "A .py or .txt file: " + EXAMPLE.splitlines()[0]

    def encode_text(self, text: str, model: nn.Module) -> Tensor:
        return self.parse(text, model.config).x.to(next(model.parameters()).device)

    # ---- answers
    def answer(self, model: nn.Module, inp: TaskInput, interventions: Sequence[Intervention] | None = None) -> Answer:
        logits = self.run(model, inp.x, interventions)[0]  # (T, V)
        ids = inp.x[0].long()
        logp = torch.log_softmax(logits, -1)
        steps = len(ids) - 1
        value: dict[str, Any] = {}
        if steps > 0:
            bpc = float(-logp[:-1].gather(1, ids[1:, None]).mean()) / LN2
            top1 = float((logits[:-1].argmax(-1) == ids[1:]).float().mean())
            value.update(bits_per_char=round(bpc, 4), top1=round(top1, 4), predicted=steps)
            scored = (f"On this text the model needs {bpc:.2f} bits per character ({_as_unsure_as(bpc)}; fewer "
                      f"bits is better); its first guess is right for {top1:.0%} of the {steps:,} next "
                      "characters. ")  # fmt: skip
        else:
            scored = "One character: nothing to score yet. "
        top_ids, top_p = next_char_table(logits[-1:], 10)
        chars = [VOCAB[k] for k in top_ids[0]]
        value["next"] = [{"char": ch, "p": round(float(p), 4)} for ch, p in zip(chars[:5], top_p[0][:5], strict=True)]
        likely = ", ".join(f"'{_shown(ch)}' {p:.0%}" for ch, p in zip(chars[:3], top_p[0][:3], strict=True))
        return Answer(self.kind, f"{scored}After the last character it expects {likely}.", form="next_chars",
                      probs=[float(p) for p in top_p[0]], labels=chars, value=value)  # fmt: skip

    def ablation_inputs(self, config: ModelConfig, source: str = "probe") -> tuple[Tensor, dict[str, Tensor]]:
        """Windows of validation text: 8 of 64 characters (``probe``) or 24 of 128 (``all``)."""
        n, length = (8, 64) if source == "probe" else (24, 128)
        return torch.from_numpy(validation_windows(n, length)), {}

    def answer_change(self, before: Tensor, after: Tensor) -> Tensor:
        """Per window: the share of its steps whose likeliest next character changes."""
        return (before.argmax(-1) != after.argmax(-1)).float().reshape(len(before), -1).mean(1)

    def probe_batch(self, config: ModelConfig, n: int = 256, seed: int = 0, length: int = 32) -> Tensor:
        """Up to 64 windows of 128 validation characters (saturation is measured over them)."""
        return torch.from_numpy(validation_windows(min(n, 64), max(length, 128), seed))


CHARLM = CharLMTask()


def _as_unsure_as(bpc: float) -> str:
    """Bits per character in words: the number of characters a fair pick would choose among (2^bpc), one decimal
    below 10 (0.52 bits read "among 1 characters"), and said plainly past the vocabulary (worse than guessing)."""
    choices = 2**bpc
    if choices > VOCAB_SIZE:
        return f"worse than a fair pick among all {VOCAB_SIZE} characters it knows"
    shown = f"{choices:.1f}" if choices < 10 else f"{choices:.0f}"
    return f"as unsure as a fair pick among {shown} characters"
