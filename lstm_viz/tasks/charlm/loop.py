"""The character model's training loop for the engine: truncated back-propagation through time in blocks of
steps, resumable from a checkpoint at any step.

The recipe is ``train.py``'s, step for step (tested: the same weights as ``train_charlm`` after the same steps):
the text is cut into B streams (``make_streams``); each step trains on the next T characters of every stream from
the (h, c) the previous chunk ended with, detached; each pass after the first shifts the chunk boundaries by a
random offset; AdamW (fused), gradient clipping, ``train.py``'s warmup and cosine schedule (``_lr_factor``) over a
budget of characters and/or seconds. What differs is only the shape: ``train_charlm`` is a generator from start to
end, while :class:`TBPTTLoop` keeps its position (pass, offset, chunk, carried state, step, characters, seconds,
random states) so that the engine's ``Trainer`` can run it one block (``log_every`` steps, one "epoch") at a time,
pause it, save it and resume it exactly (on a GPU with dropout > 0, nearly: cuDNN keeps its dropout masks' random
state inside its own kernel state, which no checkpoint can hold, so the masks after a resume differ).

``HANDLED`` lists the ``TrainConfig`` fields this loop implements; a test fails when ``train.py`` gains a field that
is not here, so a new recipe setting cannot be silently ignored by ``python -m lstm_viz train charlm``.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

import torch
from torch import Tensor, nn

from lstm_viz.tasks.base import TrainingLoop
from lstm_viz.tasks.charlm.model import CharLM, CharLMConfig
from lstm_viz.tasks.charlm.scoring import host_array
from lstm_viz.tasks.charlm.tbptt import LN2, TrainConfig, _lr_factor, evaluate_bpc, make_streams, step_loss

__all__ = ["HANDLED", "TBPTTLoop", "research_view", "train_config"]

HANDLED = frozenset({
    "batch_size", "seq_len", "lr", "final_lr_ratio", "warmup_steps", "weight_decay", "clip_norm", "activation_l1",
    "max_chars",
    "max_seconds", "log_every", "eval_every", "eval_chars", "seed",
})  # fmt: skip


def research_view(model: nn.Module) -> CharLM:
    """A research ``CharLM`` that shares ``model``'s modules (``embed``, ``lstm``, ``fc``): ``tbptt.py``'s and
    ``evaluate.py``'s functions (``evaluate_bpc``, ``train_charlm``; ``unit_report``) run on it and act on ``model``.
    Built without an init, so no random numbers are drawn."""
    c = model.config
    view = CharLM.__new__(CharLM)
    nn.Module.__init__(view)
    view.config = CharLMConfig(
        vocab_size=c.output_size, embed_size=c.input_size, hidden_size=c.hidden_size, num_layers=c.num_layers,
        proj_size=c.proj_size, dropout=c.dropout,
    )  # fmt: skip
    view.embed, view.lstm, view.fc = model.embed, model.lstm, model.fc
    return view


def train_config(options: Mapping[str, Any], *, lr: float, batch_size: int, seed: int) -> TrainConfig:
    """The ``TrainConfig`` of a run: ``options`` (recipe settings; ``minutes`` → ``max_seconds``) over its defaults."""
    names = {f.name for f in fields(TrainConfig)}
    values = {k: v for k, v in options.items() if k in names and v is not None}
    if options.get("minutes") is not None:
        values["max_seconds"] = float(options["minutes"]) * 60
    if options.get("max_chars") is not None:
        values["max_chars"] = int(options["max_chars"])
    return TrainConfig(**{**values, "lr": float(lr), "batch_size": int(batch_size), "seed": int(seed)})


class TBPTTLoop(TrainingLoop):
    """Truncated BPTT over ``train_ids`` in blocks of ``config.log_every`` steps; see the module docstring.

    ``val_ids`` are evaluated every ``eval_every`` steps (their first ``eval_chars``) and by :meth:`evaluate`
    (their first ``val_chars``, all when 0). ``state`` is a :meth:`state_dict` to resume from; the optimizer's own
    state is restored by the caller (the engine loads it from the checkpoint)."""

    def __init__(
        self,
        model: nn.Module,
        train_ids: Tensor,
        val_ids: Tensor | None,
        config: TrainConfig,
        options: Mapping[str, Any] | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        if config.max_chars is None and config.max_seconds is None:
            raise ValueError("give max_chars or minutes: the run's length (the learning rate decays over it)")
        if len(train_ids) < 2 * config.batch_size * (config.seq_len + 2):
            raise ValueError(
                f"{len(train_ids):,} training characters are too few for {config.batch_size} streams of "
                f"{config.seq_len}-character chunks; lower the batch size or the sequence length"
            )
        self.model = model
        self.config = config
        self.options = {**(options or {}), **{f.name: getattr(config, f.name) for f in fields(TrainConfig)}}
        self.view = research_view(model)
        device = next(model.parameters()).device
        self.device = device
        # the engine hands the ids over on the model's device, where a GPU tensor has no NumPy view; each pass's
        # streams go back to the device when the pass starts (``_streams_now``)
        self.train_ids = torch.as_tensor(host_array(train_ids), dtype=torch.int64)
        self.val_ids = None if val_ids is None else host_array(val_ids)
        self.rng = random.Random(config.seed)
        torch.manual_seed(config.seed)
        fused = {"fused": True} if device.type in ("cpu", "cuda") else {}
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, **fused)
        self.base_lr = config.lr
        self.step = 0
        self.chars = 0
        self.passes = 0  # finished passes over the training stream
        self.offset = 0  # where the current pass's streams start
        self.position = -1  # the next chunk's start in the current pass; -1: no pass under way
        self.seconds = 0.0  # training time so far (blocks and their evaluations, not the pauses between blocks)
        self.hc: tuple[Tensor, Tensor] | None = None
        self._streams: Tensor | None = None
        self._block_start: float | None = None
        self._done = False
        if state:
            self._load(state)
        per_step = config.batch_size * config.seq_len  # the run steps until it has read max_chars: rounds up
        steps = -(-config.max_chars // per_step) if config.max_chars else None
        if steps is not None and config.warmup_steps >= steps and not state:
            self.notes = (f"the run is about {steps:,} steps (max_chars {config.max_chars:,} over "
                          f"{config.batch_size} streams × {config.seq_len} characters) and the learning-rate warm-up "
                          f"{config.warmup_steps:,} steps: it never reaches its full rate; lower --warmup-steps or "
                          "raise --max-chars",)  # fmt: skip

    # ----------------------------------------------------------------------------------------------- budget
    def _elapsed(self) -> float:
        return self.seconds + (time.perf_counter() - self._block_start if self._block_start is not None else 0.0)

    def _fraction(self) -> float:
        done = 0.0
        if self.config.max_chars:
            done = max(done, self.chars / self.config.max_chars)
        if self.config.max_seconds:
            done = max(done, self._elapsed() / self.config.max_seconds)
        return done

    @property
    def finished(self) -> bool:
        return self._done or self._fraction() >= 1.0

    def progress(self) -> tuple[float, float, str]:
        """(done, total, unit): characters when the budget is a number of characters, else seconds."""
        if self.config.max_chars and (not self.config.max_seconds or self.chars / self.config.max_chars
                                      >= self._elapsed() / self.config.max_seconds):  # fmt: skip
            return float(self.chars), float(self.config.max_chars), "char"
        return self._elapsed(), float(self.config.max_seconds or 0.0), "s"

    def set_base_lr(self, lr: float) -> None:
        """The learning rate the schedule scales from the next step on (warmup and cosine still apply)."""
        self.base_lr = float(lr)
        self.options["lr"] = float(lr)

    # ----------------------------------------------------------------------------------------------- steps
    def _streams_now(self) -> Tensor:
        if self._streams is None:
            self._streams = make_streams(self.train_ids[self.offset :], self.config.batch_size).to(self.device)
        return self._streams

    def _train_step(self) -> Tensor | None:
        """One TBPTT step (as ``train_charlm`` takes it): its loss, or None when the budget is spent."""
        B, T = self.config.batch_size, self.config.seq_len
        while True:
            if self.position < 0:  # a new pass
                if self._fraction() >= 1.0:
                    self._done = True
                    return None
                self.offset = 0 if self.passes == 0 else self.rng.randrange(T)
                self._streams, self.position, self.hc = None, 0, None
            streams = self._streams_now()
            if self.position >= streams.shape[1] - T - 1:  # the pass reached the end of the streams
                self.passes += 1
                self.position, self._streams = -1, None
                continue
            done = self._fraction()
            if done >= 1.0:
                self._done = True
                return None
            for group in self.optimizer.param_groups:
                group["lr"] = self.base_lr * _lr_factor(self.step, done, self.config)
            t = self.position
            x = streams[:, t : t + T]  # (B, T) input characters
            y = streams[:, t + 1 : t + T + 1]  # (B, T) the next characters
            objective, loss, (h, c) = step_loss(self.view, x, y, self.hc, self.config.activation_l1)
            self.hc = (h.detach(), c.detach())
            self.optimizer.zero_grad(set_to_none=True)
            objective.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip_norm, foreach=True)
            self.optimizer.step()
            self.step += 1
            self.chars += B * T
            self.position += T
            return loss.detach()

    def run_block(self, stop: Callable[[], bool] | None = None) -> dict[str, float] | None:
        """Train ``log_every`` steps (fewer when the budget ends, or once ``stop()`` is true — checked between steps;
        None if it was true before the first); the block's metrics: ``loss`` (nats per character, the steps' mean),
        ``train_bpc``, ``lr``, ``step``, ``chars``, ``passes``, ``chars_per_s`` (this block) and, when an evaluation
        fell in the block, ``val_bpc``. The loop's state is a step's, so a block ended early loses nothing."""
        self.model.train()
        self._block_start = time.perf_counter()
        started_chars = self.chars
        total = torch.zeros((), device=self.device)
        n = 0
        metrics: dict[str, float] = {}
        try:
            while n < self.config.log_every:
                if stop is not None and stop():
                    break
                loss = self._train_step()
                if loss is None:
                    break
                total += loss
                n += 1
                if self.config.eval_every and self.val_ids is not None and self.step % self.config.eval_every == 0:
                    metrics["val_bpc"] = evaluate_bpc(self.view, self.val_ids[: self.config.eval_chars])
                    self.model.train()
        finally:
            block = time.perf_counter() - self._block_start
            self.seconds += block
            self._block_start = None
        if n == 0 and stop is not None and stop():
            return None
        loss_value = float(total) / n if n else math.nan
        return {
            "loss": loss_value,
            "train_bpc": loss_value / LN2,
            "lr": float(self.optimizer.param_groups[0]["lr"]),
            "step": self.step,
            "chars": self.chars,
            "passes": self.passes,
            "chars_per_s": (self.chars - started_chars) / max(block, 1e-9),
            **metrics,
        }

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Bits per character on the validation text: its first ``val_chars`` characters (all when 0 or unset)."""
        if self.val_ids is None:
            return {}
        limit = int(self.options.get("val_chars") or 0)
        ids = self.val_ids[:limit] if limit else self.val_ids
        was_training = self.model.training
        try:
            return {"val_bpc": evaluate_bpc(self.view, ids), "val_chars": len(ids)}
        finally:
            self.model.train(was_training)

    # ----------------------------------------------------------------------------------------------- resume
    def state_dict(self) -> dict[str, Any]:
        version, internal, gauss = self.rng.getstate()
        return {
            "step": self.step,
            "chars": self.chars,
            "passes": self.passes,
            "offset": self.offset,
            "position": self.position,
            "seconds": self.seconds,
            "base_lr": self.base_lr,
            "done": self._done,
            "rng": [version, list(internal), gauss],
            "torch_rng": torch.get_rng_state(),
            "h": None if self.hc is None else self.hc[0].detach().cpu(),
            "c": None if self.hc is None else self.hc[1].detach().cpu(),
            "options": {k: v for k, v in self.options.items() if isinstance(v, (int, float, str, bool))},
        }

    def _load(self, state: Mapping[str, Any]) -> None:
        try:
            self.step, self.chars = int(state["step"]), int(state["chars"])
            self.passes, self.offset, self.position = int(state["passes"]), int(state["offset"]), int(state["position"])
            self.seconds = float(state["seconds"])
            self.base_lr = float(state.get("base_lr", self.base_lr))
            self._done = bool(state.get("done", False))
            version, internal, gauss = state["rng"]
            self.rng.setstate((int(version), tuple(int(v) for v in internal), gauss))
            if isinstance(state.get("torch_rng"), Tensor):
                torch.set_rng_state(state["torch_rng"].to(torch.uint8))
            if isinstance(state.get("h"), Tensor) and isinstance(state.get("c"), Tensor):
                self.hc = (state["h"].to(self.device), state["c"].to(self.device))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"the saved training position is malformed ({err}); start a new run instead") from None
        if self._done and self._fraction() < 1.0:
            self._done = False  # a longer budget than the saved run's: go on
