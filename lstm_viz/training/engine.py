"""The training engine for every task: epochs as a generator of metric dicts; pause, resume, change lr, no UI.

The caller decides what to draw: ``for metrics in trainer.run(50): ...`` or ``trainer.add_callback(fn)``.
Fast on purpose: the data lives as tensors on the model's device, each epoch shuffles with one ``randperm``
and slices batches (no DataLoader), the loss is summed on the device (one sync per epoch), and the metrics
are computed in one batch per split. Small models train on one CPU thread (splitting a 32-unit LSTM's ops
across threads costs more than it saves).

Metric keys: ``epoch, loss, lr, seconds`` (wall time of that epoch) plus, per task,
toy: ``out_0, out_1`` (predictions for companies A and B, the post's TensorBoard panels);
subtraction: ``train_bit_acc, train_exact_match, test_bit_acc, test_exact_match``; regressor: nothing more.

The subtraction ``train_*`` metrics of an epoch are running metrics, as Keras reports them: tallied from the
predictions the training batches made anyway, while the weights were changing. Evaluating all 9,000 training
samples again after every epoch would cost a third of the epoch. ``test_*`` (and the toy's ``out_0, out_1``)
evaluate the weights at the end of the epoch; ``Trainer.evaluate()`` evaluates both splits on demand (the CLI's
final JSON line does).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lstm_viz.core.device import pick_device, small_model_threads, torch_threads
from lstm_viz.parsing import InputError
from lstm_viz.tasks import regressor, subtraction, toy
from lstm_viz.tasks.models import LSTMVizModel, ModelConfig, build_model
from lstm_viz.training.checkpoints import Checkpoint, load_checkpoint, save_checkpoint

__all__ = [
    "PRESETS",
    "TASKS",
    "TaskData",
    "Trainer",
    "make_task_data",
    "make_trainer",
    "task_of_config",
]

TASKS: tuple[str, ...] = ("toy-statquest", "toy-lstm", "subtraction", "subtraction-gru", "regressor")

# Per task: "seed" = the post's recipe as written; "fast" = what the app and CLI use by default.
# batch_size None = the whole training set in one batch. epochs = the default length of a run.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "toy-statquest": {
        "seed": dict(lr=0.001, batch_size=1, shuffle=False, epochs=5000),  # Lightning, Adam(), batch 1
        # Full batch, Adam lr 0.1 with betas (0.9, 0.9): every one of 32 init seeds tried converges within 216
        # epochs (median ~100) and stays converged; the default betas needed up to 1,342.
        "fast": dict(lr=0.1, batch_size=None, shuffle=False, epochs=500, betas=(0.9, 0.9)),
    },
    "toy-lstm": {
        "seed": dict(lr=0.1, batch_size=1, shuffle=False, epochs=300),
        "fast": dict(lr=0.1, batch_size=None, shuffle=False, epochs=300),
    },
    "subtraction": {
        "seed": dict(lr=0.01, batch_size=128, shuffle=True, epochs=100),
        "fast": dict(lr=0.01, batch_size=128, shuffle=True, epochs=20),
    },
    "subtraction-gru": {
        "seed": dict(lr=0.01, batch_size=128, shuffle=True, epochs=100),
        "fast": dict(lr=0.01, batch_size=128, shuffle=True, epochs=20),
    },
    "regressor": {
        "seed": dict(lr=0.001, batch_size=None, shuffle=False, epochs=100),
        "fast": dict(lr=0.001, batch_size=None, shuffle=False, epochs=100),
    },
}
_FAMILY = {
    "toy-statquest": "toy",
    "toy-lstm": "toy",
    "subtraction": "subtraction",
    "subtraction-gru": "subtraction",
    "regressor": "regression",
}


@dataclass
class TaskData:
    """What a Trainer trains on: tensors (batch first) and how to score them.

    ``family`` picks the loss and the metrics: ``toy`` (squared error of the last h; ``out_0``/``out_1``),
    ``subtraction`` (binary cross-entropy per bit; bit and exact-match accuracy on train and test) or
    ``regression`` (MSE). ``source`` says which data set it is (e.g. ``seed`` or ``all`` for subtraction).
    """

    family: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor | None = None
    y_test: Tensor | None = None
    source: str = "seed"

    def __post_init__(self) -> None:
        if self.family not in ("toy", "subtraction", "regression"):
            raise ValueError(f"unknown task family {self.family!r}; one of toy, subtraction, regression")
        if len(self.x_train) != len(self.y_train) or len(self.x_train) == 0:
            raise ValueError(
                f"x_train and y_train must hold the same, non-zero number of samples; "
                f"got {len(self.x_train)} and {len(self.y_train)}"
            )
        if (self.x_test is None) != (self.y_test is None):
            raise ValueError("give both x_test and y_test, or neither")

    def to(self, device: torch.device | str) -> TaskData:
        def move(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(device)

        return replace(
            self,
            x_train=move(self.x_train),
            y_train=move(self.y_train),
            x_test=move(self.x_test),
            y_test=move(self.y_test),
        )

    @property
    def n_train(self) -> int:
        return len(self.x_train)


def make_task_data(task: str, *, data: str = "seed", seed: int = 0) -> TaskData:
    """The data of a task: toy companies, subtraction ``seed`` (the post's) or ``all`` pairs, regressor noise."""
    family = _family(task)
    if family == "toy":
        x, y = toy.dataset()
        return TaskData("toy", x, y, source="seed")
    if family == "subtraction":
        d = subtraction.load_data(data)
        return TaskData("subtraction", d.x_train, d.y_train, d.x_test, d.y_test, source=data)
    r = regressor.random_data(generator=torch.Generator().manual_seed(seed))
    return TaskData("regression", r.x_train, r.y_train, source="random")


def _family(task: str) -> str:
    if task not in _FAMILY:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    return _FAMILY[task]


def task_of_config(config: ModelConfig) -> str:
    """The training task that fits a model config (e.g. a checkpoint's), or ValueError if none does."""
    if config.kind == "statquest":
        return "toy-statquest"
    if config.kind == "toy_lstm":
        return "toy-lstm"
    if config.kind == "subtraction":
        return "subtraction-gru" if config.cell == "gru" else "subtraction"
    if config.kind == "regressor":
        return "regressor"
    raise ValueError(f"a {config.kind!r} model has no training task; lstm-viz trains {', '.join(TASKS)}")


def _adam(model: nn.Module, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam with the fused kernel where PyTorch has one for the device (4× faster steps on tiny models)."""
    params = list(model.parameters())
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, ValueError, TypeError):
        return torch.optim.Adam(params, lr=lr, betas=betas)


def _check_lr(lr: float) -> float:
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise InputError(f"the learning rate must be a positive finite number, got {lr!r}. Example: 0.01")
    if lr > 10:
        raise InputError(f"the learning rate {lr:g} is far too large (at most 10). Example: 0.01")
    return float(lr)


class Trainer:
    """Adam on one model and one TaskData; call ``run``/``train_epochs`` as often as you like to continue.

    ``batch_size=None`` trains on the whole training set at once; ``betas`` are Adam's. ``seed`` seeds the
    shuffling generator (the model's init is seeded by whoever built it, e.g. :func:`make_trainer`).
    ``optimizer_state`` (from a checkpoint) restores Adam's moments; ``lr`` then replaces the saved learning
    rate. ``history`` and ``epoch`` continue a previous run's numbering.
    """

    def __init__(
        self,
        model: nn.Module,
        task_data: TaskData,
        *,
        lr: float = 0.01,
        batch_size: int | None = None,
        seed: int = 0,
        device: torch.device | str | None = None,
        optimizer_state: dict | None = None,
        history: list[dict] | None = None,
        epoch: int | None = None,
        shuffle: bool = True,
        num_threads: int | None = None,
        task: str | None = None,
        generator_state: Tensor | None = None,
        betas: tuple[float, float] = (0.9, 0.999),
    ) -> None:
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)):
            raise InputError(f"batch size must be a whole number, got {batch_size!r}. Example: 128")
        if batch_size is not None and batch_size <= 0:
            raise InputError(f"batch size must be at least 1, got {batch_size}. Example: 128")
        self.device = torch.device(device) if device is not None else pick_device()
        self.model = model.to(self.device)
        self.data = task_data.to(self.device)
        self.task = task
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = int(seed)
        self.optimizer = _adam(self.model, _check_lr(lr), (float(betas[0]), float(betas[1])))
        if optimizer_state is not None:
            try:
                self.optimizer.load_state_dict(optimizer_state)
            except (ValueError, KeyError, TypeError, RuntimeError) as err:
                raise ValueError(f"the saved optimizer state does not fit this model: {err}") from None
            self.set_lr(lr)
        self.generator = torch.Generator().manual_seed(self.seed)
        if generator_state is not None:
            self.generator.set_state(generator_state.cpu().to(torch.uint8))
        self.history: list[dict] = [dict(h) for h in (history or [])]
        self.epoch = int(epoch if epoch is not None else (self.history[-1]["epoch"] if self.history else 0))
        self.paused = False
        self.callbacks: list[Callable[[dict], None]] = []
        if num_threads is None and self.device.type == "cpu":
            num_threads = small_model_threads(self.model)
        self.num_threads = num_threads

    # ------------------------------------------------------------------ controls
    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def set_lr(self, lr: float) -> None:
        """Change the learning rate from the next batch on; Adam's moments are kept."""
        lr = _check_lr(lr)
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def pause(self) -> None:
        """Stop a running ``run`` after the current epoch (call from a callback or another thread)."""
        self.paused = True

    def resume(self) -> None:
        """Allow ``run`` to continue; the model, optimizer state and history are untouched by a pause."""
        self.paused = False

    def add_callback(self, fn: Callable[[dict], None]) -> None:
        """``fn(metrics)`` after every epoch."""
        self.callbacks.append(fn)

    # ------------------------------------------------------------------ training
    def _loss(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor | None]:
        """The batch's loss and, for subtraction, its bit probabilities (for the running train metrics)."""
        family = self.data.family
        if family == "subtraction":
            logits = getattr(self.model, "logits", None)
            if logits is not None:  # the post's Sigmoid + BCELoss, fused: same loss, one op fewer each way
                z = logits(x)
                return F.binary_cross_entropy_with_logits(z, y), z.detach().sigmoid()
            probs = self.model(x)
            return F.binary_cross_entropy(probs, y), probs.detach()
        return F.mse_loss(self.model(x), y), None  # toy: (h_last − label)², mean over the batch

    def _batches(self) -> Iterator[Tensor | slice]:
        n = self.data.n_train
        size = n if self.batch_size is None else min(self.batch_size, n)
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator).to(self.device)
            for start in range(0, n, size):
                yield order[start : start + size]
        else:
            for start in range(0, n, size):
                yield slice(start, start + size)

    def step_epoch(self) -> dict[str, float]:
        """Train one epoch, append its metrics to ``history``, call the callbacks, return the metrics."""
        started = time.perf_counter()
        x, y = self.data.x_train, self.data.y_train
        self.model.train()
        total = torch.zeros((), device=self.device)
        right_bits = torch.zeros((), dtype=torch.long, device=self.device)
        right_samples = torch.zeros((), dtype=torch.long, device=self.device)
        with torch_threads(self.num_threads):
            for idx in self._batches():
                xb, yb = x[idx], y[idx]
                self.optimizer.zero_grad(set_to_none=True)
                loss, probs = self._loss(xb, yb)
                loss.backward()
                self.optimizer.step()
                total += loss.detach() * len(xb)
                if probs is not None:  # running train metrics, from predictions made anyway (no sync)
                    right = subtraction.bits_right(probs, yb)
                    right_bits += right.sum()
                    right_samples += right.all(-1).sum()
            self.epoch += 1
            n = self.data.n_train
            metrics: dict[str, float] = {"epoch": self.epoch, "loss": float(total) / n}
            metrics["lr"] = self.lr
            if self.data.family == "subtraction":
                metrics["train_bit_acc"] = float(right_bits) / (n * y.shape[-1])
                metrics["train_exact_match"] = float(right_samples) / n
                metrics.update(self.evaluate(splits=("test",)))
            else:
                metrics.update(self.evaluate())
        if not math.isfinite(metrics["loss"]):
            self.paused = True
            metrics["diverged"] = True
        metrics["seconds"] = time.perf_counter() - started
        self.history.append(metrics)
        for fn in self.callbacks:
            fn(metrics)
        return metrics

    def run(self, epochs: int, until: Callable[[dict], bool] | None = None) -> Iterator[dict]:
        """Train up to ``epochs`` epochs, yielding each epoch's metrics; stops early when paused (by a callback,
        ``pause()``, or a diverged loss) or when ``until(metrics)`` is true. Resumable: call again."""
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise InputError(f"epochs must be a whole number ≥ 0, got {epochs!r}. Example: 100")
        for _ in range(epochs):
            if self.paused:
                return
            metrics = self.step_epoch()
            yield metrics
            if until is not None and until(metrics):
                return

    def train_epochs(self, epochs: int, until: Callable[[dict], bool] | None = None) -> list[dict]:
        """``list(run(epochs, until))``."""
        return list(self.run(epochs, until))

    def run_for(self, seconds: float, max_epochs: int | None = None) -> list[dict]:
        """Train whole epochs until ``seconds`` have passed (at least one epoch) — for UI ticks."""
        done: list[dict] = []
        deadline = time.perf_counter() + seconds
        while not self.paused and (max_epochs is None or len(done) < max_epochs):
            done.append(self.step_epoch())
            if time.perf_counter() >= deadline:
                break
        return done

    # ------------------------------------------------------------------ metrics
    @torch.no_grad()
    def evaluate(self, splits: tuple[str, ...] = ("train", "test")) -> dict[str, float]:
        """The task's metrics for the current weights (no ``epoch``/``loss``), in one batch per split.

        ``splits`` limits the subtraction metrics to some of ``"train"``, ``"test"``."""
        was_training = self.model.training
        self.model.eval()
        try:
            with torch_threads(self.num_threads):
                return self._metrics(splits)
        finally:
            self.model.train(was_training)

    def _metrics(self, splits: tuple[str, ...] = ("train", "test")) -> dict[str, float]:
        d = self.data
        if d.family == "toy":
            out = self.model(d.x_train)
            return {f"out_{int(label)}": float(out[k]) for k, label in enumerate(d.y_train.tolist())}
        if d.family == "subtraction":
            metrics = {}
            chosen = [("train", d.x_train, d.y_train)] if "train" in splits else []
            if d.x_test is not None and "test" in splits:
                chosen.append(("test", d.x_test, d.y_test))
            for name, x, y in chosen:
                for key, value in subtraction.evaluate(self.model, x, y).items():
                    metrics[f"{name}_{key}"] = value
            return metrics
        if d.x_test is not None:
            return {"test_loss": float(F.mse_loss(self.model(d.x_test), d.y_test))}
        return {}

    @property
    def last(self) -> dict:
        """The latest metrics (the evaluation of the current weights before any epoch)."""
        if self.history:
            return self.history[-1]
        return {"epoch": self.epoch, "lr": self.lr, **self.evaluate()}

    # ------------------------------------------------------------------ checkpoints
    def trainer_state(self) -> dict[str, Any]:
        """What ``make_trainer(resume=…)`` needs besides the model and optimizer (stored in meta["trainer"])."""
        return {
            "task": self.task,
            "source": self.data.source,
            "epoch": self.epoch,
            "lr": self.lr,
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "seed": self.seed,
            "generator_state": self.generator.get_state(),
        }

    def save(self, path: str | Path, meta: dict | None = None) -> Path:
        """Save model, config, optimizer state, history and trainer state to ``path`` (atomically)."""
        model = self.model
        if not isinstance(model, LSTMVizModel):
            raise TypeError("only lstm_viz models (with a .config) can be saved as checkpoints")
        return save_checkpoint(
            path,
            model,
            model.config,
            optimizer=self.optimizer,
            history=self.history,
            meta={**(meta or {}), "trainer": self.trainer_state()},
        )


def _model_for(task: str, *, hidden_size: int | None, proj_size: int, num_layers: int, bidirectional: bool):
    if task == "toy-statquest":
        if proj_size or (hidden_size not in (None, 1)) or num_layers != 1 or bidirectional:
            raise InputError("the StatQuest LSTM has one unit and twelve fixed parameters; it takes no size options")
        return ModelConfig.default("statquest")
    if task == "toy-lstm":
        if proj_size or (hidden_size not in (None, 1)) or bidirectional:
            raise InputError("the toy LSTM is nn.LSTM(1, 1); only --num-layers can change")
        return ModelConfig.default("toy_lstm", num_layers=num_layers)
    cell = "gru" if task == "subtraction-gru" else "lstm"
    if task.startswith("subtraction"):
        if cell == "gru" and proj_size:
            raise InputError("a GRU has no projection: proj_size works with the LSTM task 'subtraction' only")
        return subtraction.model_config(
            hidden_size=hidden_size or 32, proj_size=proj_size, cell=cell, num_layers=num_layers,
            bidirectional=bidirectional,
        )  # fmt: skip
    return regressor.model_config(
        hidden_size=hidden_size or regressor.HIDDEN_SIZE, proj_size=proj_size,
        num_layers=num_layers if num_layers != 1 else regressor.NUM_LAYERS, bidirectional=bidirectional,
    )  # fmt: skip


def make_trainer(
    task: str,
    *,
    preset: str = "fast",
    lr: float | None = None,
    batch_size: int | str | None = "preset",
    seed: int = 0,
    data: str = "seed",
    hidden_size: int | None = None,
    proj_size: int = 0,
    num_layers: int = 1,
    bidirectional: bool = False,
    device: torch.device | str | None = None,
    resume: str | Path | bytes | Checkpoint | None = None,
    num_threads: int | None = None,
) -> Trainer:
    """A ready Trainer for a task: ``toy-statquest``, ``toy-lstm``, ``subtraction``, ``subtraction-gru`` or
    ``regressor``.

    ``preset`` ``"seed"`` is the post's recipe (StatQuest: Adam lr 0.001, batch 1, 5000 epochs; subtraction: lr
    0.01, batch 128, 100 epochs), ``"fast"`` a quicker one (StatQuest: full batch, lr 0.1, betas 0.9/0.9).
    ``lr`` and ``batch_size`` override the preset (``batch_size=None`` = full batch). ``seed`` seeds the model's
    init and the shuffling (with ``seed=822`` the subtraction model starts from exactly the post's weights).
    ``data``: ``"seed"`` or ``"all"`` (subtraction). ``resume``: a checkpoint (path, bytes or Checkpoint) to
    continue — its model, optimizer state, history, epoch count and, unless overridden, lr and batch size.
    The default length of a run is ``PRESETS[task][preset]["epochs"]``.
    """
    _family(task)
    if preset not in PRESETS[task]:
        raise InputError(f"unknown preset {preset!r}; choose 'fast' or 'seed' (the post's recipe)")
    recipe = dict(PRESETS[task][preset])
    device = torch.device(device) if device is not None else pick_device()
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"seed must be a whole number, got {seed!r}. Example: 0")

    if resume is not None:
        ckpt = resume if isinstance(resume, Checkpoint) else load_checkpoint(resume, device=device)
        expected = task_of_config(ckpt.config)
        if expected != task:
            raise InputError(f"the checkpoint holds a {ckpt.config.label()} (task {expected!r}), not {task!r}")
        state = dict(ckpt.meta.get("trainer") or {})
        source = state.get("source") if data == "seed" and state.get("source") in ("seed", "all") else data
        task_data = make_task_data(task, data=source, seed=int(state.get("seed", seed)))
        if batch_size == "preset":
            batch_size = state.get("batch_size", recipe["batch_size"])
        generator_state = state.get("generator_state")
        return Trainer(
            ckpt.model,
            task_data,
            lr=lr if lr is not None else float(state.get("lr", recipe["lr"])),
            batch_size=batch_size,  # type: ignore[arg-type]
            seed=int(state.get("seed", seed)),
            device=device,
            optimizer_state=ckpt.optimizer_state,
            history=ckpt.history,
            epoch=int(state.get("epoch", ckpt.history[-1]["epoch"] if ckpt.history else 0)),
            shuffle=bool(state.get("shuffle", recipe["shuffle"])),
            num_threads=num_threads,
            task=task,
            generator_state=generator_state if isinstance(generator_state, Tensor) else None,
        )

    config = _model_for(
        task, hidden_size=hidden_size, proj_size=proj_size, num_layers=num_layers, bidirectional=bidirectional
    )
    task_data = make_task_data(task, data=data, seed=seed)
    torch.manual_seed(seed)
    if task.startswith("subtraction"):
        # The post draws random_split's permutation right after torch.manual_seed(822), then builds the model;
        # draw it too, so that seed=822 starts from exactly the post's initial weights (whatever the data).
        torch.randperm(subtraction.N_SAMPLES)
    model = build_model(config)
    return Trainer(
        model,
        task_data,
        lr=lr if lr is not None else recipe["lr"],
        batch_size=recipe["batch_size"] if batch_size == "preset" else batch_size,  # type: ignore[arg-type]
        seed=seed,
        device=device,
        shuffle=recipe["shuffle"],
        num_threads=num_threads,
        task=task,
        betas=recipe.get("betas", (0.9, 0.999)),
    )
