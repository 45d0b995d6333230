"""Truncated back-propagation through time for CharLM: the training loop (a generator of metric dicts) and bpc.

The text is cut into B parallel streams (``make_streams``); each step trains on the next T characters of every
stream, starting from the (h, c) the previous chunk ended with, detached, so the state flows through the whole
stream while gradients stop at chunk boundaries — how character models are trained. Adam with weight decay
(AdamW), gradient clipping, a short linear warmup and a cosine decay over the run, whose length is a number of
characters, a number of seconds, or both (whichever ends first).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from lstm_viz.tasks.charlm.model import CharLM

__all__ = ["TrainConfig", "evaluate_bpc", "make_streams", "step_loss", "train_charlm"]

LN2 = math.log(2.0)


@dataclass(frozen=True)
class TrainConfig:
    """The TBPTT recipe. Give ``max_chars`` or ``max_seconds`` (or both: the run ends at the first)."""

    batch_size: int = 64  # B parallel streams
    seq_len: int = 128  # T characters per stream per step (the truncation length)
    lr: float = 3e-3
    final_lr_ratio: float = 0.05  # the cosine ends at lr · final_lr_ratio
    warmup_steps: int = 50
    weight_decay: float = 0.0
    clip_norm: float = 1.0
    # an L1 penalty on the activations: the loss gains activation_l1 × Σ over layers of mean |h|, which pushes each
    # character's work onto few units, so that more units do one thing (0: none, the plain recipe)
    activation_l1: float = 0.0
    max_chars: int | None = None
    max_seconds: float | None = None
    log_every: int = 25  # steps between "train" metric dicts
    eval_every: int = 0  # steps between "eval" dicts on eval_chars of the validation ids; 0: only at the end
    eval_chars: int = 100_000
    seed: int = 0

    def __post_init__(self) -> None:
        """Refuse a recipe that cannot run as meant, naming the command line's flag (``lstm_viz train charlm``)."""
        whole = {"batch_size": 1, "seq_len": 1, "warmup_steps": 0, "log_every": 1, "eval_every": 0, "eval_chars": 1,
                 "seed": 0}  # field: its least value  # fmt: skip
        for name, least in whole.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"--{name.replace('_', '-')} must be a whole number ≥ {least}, got {value!r}")
        if self.max_chars is not None and (not isinstance(self.max_chars, int) or self.max_chars < 1):
            raise ValueError(f"--max-chars must be a whole number ≥ 1, got {self.max_chars!r}")
        rules = {  # field: (flag, test, what it must be)
            "lr": ("--lr", lambda v: v > 0, "a positive number"),
            "final_lr_ratio": ("--final-lr-ratio", lambda v: 0 <= v <= 1, "from 0 to 1"),
            "weight_decay": ("--weight-decay", lambda v: v >= 0, "≥ 0"),
            "clip_norm": ("--clip-norm", lambda v: v > 0, "a positive number"),
            "activation_l1": ("--activation-l1", lambda v: v >= 0, "≥ 0"),
        }
        for name, (flag, test, what) in rules.items():
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and test(value)):
                raise ValueError(f"{flag} must be {what}, got {value!r}")
        if self.max_seconds is not None and not (math.isfinite(self.max_seconds) and self.max_seconds > 0):
            raise ValueError(f"--minutes must be a positive number of minutes, got {self.max_seconds / 60!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def make_streams(ids: np.ndarray | Tensor, batch_size: int) -> Tensor:
    """(B, L) int64: ``ids`` cut into B contiguous streams of L = len // B characters (the rest is dropped)."""
    ids = torch.as_tensor(np.asarray(ids), dtype=torch.int64)
    length = len(ids) // batch_size
    if length < 2:
        raise ValueError(f"{len(ids)} ids are too few for {batch_size} streams")
    return ids[: batch_size * length].view(batch_size, length)


@torch.no_grad()
def evaluate_bpc(model: CharLM, ids: np.ndarray | Tensor, batch_size: int = 16, seq_len: int = 1024) -> float:
    """Bits per character of ``model`` predicting ``ids`` (B streams, state carried, from zero at each start)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    streams = make_streams(ids, batch_size).to(device)
    total, count, state = 0.0, 0, None
    for t in range(0, streams.shape[1] - 1, seq_len):
        x = streams[:, t : t + seq_len]
        y = streams[:, t + 1 : t + seq_len + 1]
        x = x[:, : y.shape[1]]
        logits, state = model(x, state)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    model.train(was_training)
    return total / count / LN2


def step_loss(model: CharLM, x: Tensor, y: Tensor, hx: tuple[Tensor, Tensor] | None,
              activation_l1: float) -> tuple[Tensor, Tensor, tuple[Tensor, Tensor]]:
    """One chunk's ``(objective, cross-entropy, (h_n, c_n))``: the objective is what back-propagates (the
    cross-entropy in nats per character, plus ``activation_l1`` × Σ over layers of mean |h| when that is > 0);
    the cross-entropy alone is what the run reports as bits per character."""
    if activation_l1:
        logits, state, outputs = model.forward_layers(x, hx)
        penalty = torch.stack([out.abs().mean() for out in outputs]).sum()
    else:
        logits, state = model(x, hx)
        penalty = None
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    return (loss if penalty is None else loss + activation_l1 * penalty), loss, state


def _lr_factor(step: int, progress: float, config: TrainConfig) -> float:
    warm = min(1.0, (step + 1) / max(1, config.warmup_steps))
    cosine = config.final_lr_ratio + (1 - config.final_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return warm * cosine


def train_charlm(
    model: CharLM,
    train_ids: np.ndarray | Tensor,
    config: TrainConfig,
    val_ids: np.ndarray | Tensor | None = None,
) -> Iterator[dict]:
    """Train ``model`` in place on ``train_ids``; yield metric dicts as it goes.

    Yields ``{"kind": "train", step, chars, seconds, lr, loss_bpc, chars_per_s, epoch}`` every ``log_every`` steps,
    ``{"kind": "eval", …, "val_bpc"}`` every ``eval_every`` steps (on the first ``eval_chars`` of ``val_ids``), and a
    last ``{"kind": "done", …}`` (with ``val_bpc`` when ``val_ids`` is given; that evaluation is outside
    ``seconds``). ``seconds`` is wall time since the start, evaluations included. Stop early by closing the
    generator.
    """
    if config.max_chars is None and config.max_seconds is None:
        raise ValueError("give max_chars or max_seconds")
    B, T = config.batch_size, config.seq_len
    device = next(model.parameters()).device
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    fused = {"fused": True} if device.type in ("cpu", "cuda") else {}
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, **fused)
    train_ids = torch.as_tensor(np.asarray(train_ids), dtype=torch.int64)
    eval_ids = None if val_ids is None else np.asarray(val_ids)[: config.eval_chars]
    model.train()

    step, chars, epoch, running_n = 0, 0, 0, 0
    running = torch.zeros((), device=device)  # summed on the device: no sync per step
    start = time.perf_counter()

    def progress() -> float:
        done = 0.0
        if config.max_chars:
            done = max(done, chars / config.max_chars)
        if config.max_seconds:
            done = max(done, (time.perf_counter() - start) / config.max_seconds)
        return done

    def record(kind: str, **extra) -> dict:
        seconds = time.perf_counter() - start
        return {
            "kind": kind,
            "step": step,
            "chars": chars,
            "seconds": seconds,
            "epoch": epoch,
            "lr": optimizer.param_groups[0]["lr"],
            "chars_per_s": chars / max(seconds, 1e-9),
            **extra,
        }

    while progress() < 1.0:
        offset = 0 if epoch == 0 else rng.randrange(T)  # shift the chunk boundaries from epoch to epoch
        streams = make_streams(train_ids[offset:], B).to(device)  # (B, L)
        state = None
        finished = True  # whether this pass reached the end of the streams
        for t in range(0, streams.shape[1] - T - 1, T):
            done = progress()
            if done >= 1.0:
                finished = False
                break
            for group in optimizer.param_groups:
                group["lr"] = config.lr * _lr_factor(step, done, config)
            x = streams[:, t : t + T]  # (B, T) input characters
            y = streams[:, t + 1 : t + T + 1]  # (B, T) the next characters
            objective, loss, (h, c) = step_loss(model, x, y, state, config.activation_l1)
            state = (h.detach(), c.detach())
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm, foreach=True)
            optimizer.step()
            step += 1
            chars += B * T
            running += loss.detach()
            running_n += 1
            if step % config.log_every == 0:
                yield record("train", loss_bpc=running.item() / running_n / LN2)
                running.zero_()
                running_n = 0
            if config.eval_every and eval_ids is not None and step % config.eval_every == 0:
                yield record("eval", val_bpc=evaluate_bpc(model, eval_ids))
                model.train()
        epoch += finished
    final = record("done", loss_bpc=running.item() / running_n / LN2 if running_n else float("nan"))
    if val_ids is not None:
        final["val_bpc"] = evaluate_bpc(model, val_ids)
    yield final
