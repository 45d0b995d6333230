"""The training engine for every task: epochs as a generator of metric dicts; pause, resume, change lr, no UI.

The caller decides what to draw: ``for metrics in trainer.run(50): ...`` or ``trainer.add_callback(fn)``.
Fast on purpose: the data lives as tensors on the model's device, each epoch shuffles with one ``randperm`` (or as a
post's DataLoader does, for that post's recipe: ``order.dataloader_order``) and slices batches (no DataLoader), the loss
is summed on the device (one sync per epoch), and the metrics are computed in one batch per split. Small models
train on one CPU thread (splitting a 32-unit LSTM's ops across threads costs more than it saves).

Metric keys: ``epoch, loss`` (the mean over the epoch's samples), ``loss_sum`` (the sum of the mini-batches' mean
losses, what a plain PyTorch loop prints), ``lr`` (at the epoch's end; ``lr_from``: the rate it started with, when it
changed part-way), ``seconds`` (wall time of that epoch) plus, per task,
toy: ``out_0, out_1`` (predictions for companies A and B, the post's TensorBoard panels);
subtraction: ``train_bit_acc, train_exact_match, test_bit_acc, test_exact_match``; regressor: nothing more.

The subtraction ``train_*`` metrics of an epoch are running metrics, as Keras reports them: tallied from the
predictions the training batches made anyway, while the weights were changing. Evaluating all 9,000 training
samples again after every epoch would cost a third of the epoch. ``test_*`` (and the toy's ``out_0, out_1``)
evaluate the weights at the end of the epoch; ``Trainer.evaluate()`` evaluates both splits on demand (the CLI's
final JSON line does).

A task with a training loop of its own (``Task.training_loop``: the character model's truncated back-propagation
through time, which carries state across chunks and decays its learning rate over a budget of characters or minutes)
is driven the same way: one "epoch" is one block of the loop's steps (``loop.run_block()``), the run ends when the
loop's budget is spent, its optimizer is saved and restored like Adam's, and its position (``loop.state_dict()``)
goes into the checkpoint so ``--resume`` continues exactly. Its metrics: ``loss`` (nats per character),
``train_bpc``, ``lr``, ``step``, ``chars``, ``passes``, ``chars_per_s`` and, every ``eval_every`` steps, ``val_bpc``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from lstm_viz.core.device import pick_device, seeded, small_model_threads, torch_threads
from lstm_viz.parsing import InputError, parse_lr
from lstm_viz.paths import write_atomically
from lstm_viz.tasks import LSTMVizModel, ModelConfig, Task, TaskData, get_task, registered, task_for, training_names
from lstm_viz.training.checkpoints import Checkpoint, CheckpointError, checkpoint_bytes, load_checkpoint
from lstm_viz.training.memory import check_fits_memory
from lstm_viz.training.order import SHUFFLES, checked_order, epoch_batches, restored_partial
from lstm_viz.training.saved_state import check_optimizer_state, saved_trainer_state

__all__ = [
    "PRESETS",
    "TASKS",
    "TaskData",
    "Trainer",
    "make_task_data",
    "make_trainer",
    "task_of_config",
]

TASKS: tuple[str, ...] = training_names()  # e.g. toy-statquest, toy-lstm, subtraction, subtraction-gru, regressor

# Per training name: "seed" = the post's recipe as written; "fast" = what the app and CLI use by default.
# batch_size None = the whole training set in one batch. epochs = the default length of a run. Each task owns its.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    name: {preset: dict(recipe) for preset, recipe in task.presets[name].items()}
    for task in registered()
    for name in task.training_names
}


def make_task_data(task: str | Task, *, data: str = "seed", seed: int = 0) -> TaskData:
    """The data of a task: toy companies, subtraction ``seed`` (the post's) or ``all`` pairs, regressor noise."""
    task = task if isinstance(task, Task) else get_task(task)
    if data not in task.data_sources:
        raise ValueError(f"unknown data {data!r} for the {task.title}; choose {', '.join(task.data_sources)}")
    return task.make_data(data, seed)


def task_of_config(config: ModelConfig) -> str:
    """The training task that fits a model config (e.g. a checkpoint's), or ValueError if none does."""
    return task_for(config).training_name(config)


def _adam(model: nn.Module, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam with the fused kernel where PyTorch has one for the device (4× faster steps on tiny models)."""
    params = list(model.parameters())
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, ValueError, TypeError):
        return torch.optim.Adam(params, lr=lr, betas=betas)


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
        shuffle: bool | str = True,
        num_threads: int | None = None,
        task: str | None = None,
        generator_state: Tensor | None = None,
        betas: tuple[float, float] = (0.9, 0.999),
        options: Mapping[str, Any] | None = None,
        loop_state: Mapping[str, Any] | None = None,
        preset: str | None = None,
    ) -> None:
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)):
            raise InputError(f"batch size must be a whole number, got {batch_size!r}. Example: 128")
        if batch_size is not None and batch_size <= 0:
            raise InputError(f"batch size must be at least 1, got {batch_size}. Example: 128")
        self.device = torch.device(device) if device is not None else pick_device()
        self.model = model.to(self.device)
        self.data = task_data.to(self.device)
        self.task = task  # the training name (saved with checkpoints), e.g. "subtraction-gru"
        self.batch_size = batch_size
        if shuffle not in SHUFFLES or not isinstance(shuffle, (bool, str)):  # 1 == True: refused too
            raise InputError(f"shuffle must be one of {', '.join(map(repr, SHUFFLES))}, got {shuffle!r}")
        self.shuffle = shuffle
        self.seed = int(seed)
        self.options = dict(options or {})
        self.preset = preset  # the recipe's name, saved with the trainer state (a resumed run keeps its own)
        # The epoch the run in progress was asked to reach (the command line's --epochs counted from where it
        # started), saved with the trainer state: --resume of a run stopped before it finishes that run.
        self.until_epoch: int | None = None
        self.notes: list[str] = []  # what a caller should tell the user (e.g. the data differs from the checkpoint's)
        self.loop = self.data.task.training_loop(
            self.model, self.data, lr=parse_lr(lr, typed=False), batch_size=batch_size, seed=self.seed,
            options=self.options, state=loop_state,
        )  # fmt: skip
        if self.loop is not None:
            self.optimizer = self.loop.optimizer
            self.options = dict(self.loop.options)
            self.notes += self.loop.notes
        else:
            self.optimizer = _adam(self.model, parse_lr(lr, typed=False), (float(betas[0]), float(betas[1])))
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
        self._stop_now = threading.Event()  # request_stop(): leave the epoch in progress at the next mini-batch
        self._partial: dict[str, Any] | None = None  # an epoch left that way: its batches, where it stopped, sums
        self._batch_budget: int | None = None  # train_batches: mini-batches left to train before leaving the epoch
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
        lr = parse_lr(lr, typed=False)
        if self.loop is not None:  # the loop's schedule scales this base rate from its next step on
            self.loop.set_base_lr(lr)
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def pause(self) -> None:
        """Stop a running ``run`` after the current epoch (call from a callback or another thread)."""
        self.paused = True

    def resume(self) -> None:
        """Allow ``run`` to continue; the model, optimizer state and history are untouched by a pause."""
        self.paused = False

    def request_stop(self) -> None:
        """Leave the epoch in progress at the next mini-batch (call from another thread or a signal handler, e.g. a
        page's Pause or a Ctrl-C while an epoch takes seconds); ``run`` then returns and the next ``run`` finishes
        that epoch where it stopped — the same batches in the same order, so the result equals an uninterrupted run.
        A checkpoint saved meanwhile keeps that place (``trainer_state()["partial"]``) and a trainer resumed from it
        finishes the epoch the same way. A task's own loop (the character model's blocks) ends its block early,
        after a whole step."""
        self._stop_now.set()

    @property
    def partial_epoch(self) -> tuple[int, int] | None:
        """(mini-batches done, mini-batches in all) of an epoch ``request_stop`` left part-way; None otherwise."""
        if self._partial is None:
            return None
        return self._partial["next"], len(self._partial["batches"])

    def add_callback(self, fn: Callable[[dict], None]) -> None:
        """``fn(metrics)`` after every epoch."""
        self.callbacks.append(fn)

    # ------------------------------------------------------------------ training
    def _batch_size_used(self) -> int:
        n = self.data.n_train
        return n if self.batch_size is None else min(self.batch_size, n)

    @property
    def batches_per_epoch(self) -> int:
        """Mini-batches in one epoch (the last may be smaller than the batch size)."""
        return math.ceil(self.data.n_train / self._batch_size_used())

    def _batches(self) -> list[Tensor | slice]:
        return epoch_batches(self.data.n_train, self._batch_size_used(), self.shuffle, self.generator, self.device)

    @property
    def finished(self) -> bool:
        """True when the task's own loop has spent its budget (tasks trained in epochs never finish)."""
        return self.loop is not None and self.loop.finished

    def step_epoch(self) -> dict[str, float] | None:
        """Train one epoch (or finish the one ``request_stop`` left), append its metrics to ``history``, call the
        callbacks, return the metrics; None when ``request_stop`` left it before its end."""
        if self.loop is not None:
            return self._step_block()
        if self._partial is None:
            self._partial = {"batches": self._batches(), "next": 0, "seconds": 0.0, "tallies": {},
                             "total": torch.zeros((), device=self.device),
                             "batch_sum": torch.zeros((), device=self.device), "lr_start": self.lr}  # fmt: skip
        part = self._partial
        started = time.perf_counter() - part["seconds"]
        task = self.data.task
        x, y = self.data.x_train, self.data.y_train
        batches, total, tallies = part["batches"], part["total"], part["tallies"]
        self.model.train()
        with torch_threads(self.num_threads):
            while part["next"] < len(batches):
                budget_spent = self._batch_budget is not None and self._batch_budget <= 0
                if self._stop_now.is_set() or budget_spent:  # asked to stop: keep the place, the sums and the time
                    part["seconds"] = time.perf_counter() - started
                    return None
                idx = batches[part["next"]]
                xb, yb = x[idx], y[idx]
                self.optimizer.zero_grad(set_to_none=True)
                loss, predictions = task.loss(self.model, xb, yb)
                loss.backward()
                self.optimizer.step()
                total += loss.detach() * len(xb)
                if part.get("batch_sum") is not None:
                    part["batch_sum"] += loss.detach()
                if predictions is not None:  # running train metrics, from predictions made anyway (no sync)
                    task.tally(tallies, predictions, yb)
                part["next"] += 1
                if self._batch_budget is not None:
                    self._batch_budget -= 1
            self._partial = None
            self.epoch += 1
            metrics: dict[str, float] = {"epoch": self.epoch, "loss": float(total) / self.data.n_train}
            if part.get("batch_sum") is not None:  # the sum of the batches' mean losses: what a plain PyTorch loop
                metrics["loss_sum"] = float(part["batch_sum"])  # prints (post 4's "Epoch 100/100, Loss: 0.0002")
            metrics["lr"] = self.lr
            if part.get("lr_start") not in (None, self.lr):  # changed part-way (the pages apply the box at once)
                metrics["lr_from"] = part["lr_start"]
            metrics.update(self._evaluated(lambda: task.epoch_metrics(self.model, self.data, tallies)))
        return self._record_epoch(metrics, started, not math.isfinite(metrics["loss"]))

    def _step_block(self) -> dict[str, float] | None:
        """One block of the task's own loop, recorded like an epoch."""
        started = time.perf_counter()
        with torch_threads(self.num_threads):
            block = self.loop.run_block(stop=self._stop_now.is_set)
        if block is None:  # request_stop before the block's first step: nothing to record
            return None
        self.epoch += 1
        metrics: dict[str, float] = {"epoch": self.epoch, **block}
        diverged = not math.isfinite(metrics["loss"]) and not self.loop.finished
        return self._record_epoch(metrics, started, diverged)

    def _record_epoch(self, metrics: dict[str, float], started: float, diverged: bool) -> dict[str, float]:
        """Close an epoch (or block): pause on a diverged loss, time it, keep it in the history, tell the callbacks."""
        if diverged:
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
        self._stop_now.clear()  # a request belongs to the run it interrupts
        for _ in range(epochs):
            if self.paused or self.finished:
                return
            metrics = self.step_epoch()
            if metrics is None:  # request_stop: the epoch waits, half done, for the next run
                return
            yield metrics
            if until is not None and until(metrics):
                return

    def train_batches(self, n: int) -> dict[str, float] | None:
        """Train the next ``n`` mini-batches of the epoch in progress (fewer where it ends first): the epoch's
        metrics when it ended, else None, its place kept as ``request_stop`` keeps it — batch by batch, the same
        weights as whole epochs. For watching the first epochs from inside (``training.live.FineSteps``);
        a task with its own loop (the character model) trains in blocks instead, and is refused."""
        if self.loop is not None:
            raise InputError(f"{self.data.task.name} trains in blocks of its own loop, not in mini-batch epochs")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InputError(f"n must be a whole number of mini-batches ≥ 1, got {n!r}. Example: 4")
        self._stop_now.clear()
        self._batch_budget = n
        try:
            return self.step_epoch()
        finally:
            self._batch_budget = None

    def train_epochs(self, epochs: int, until: Callable[[dict], bool] | None = None) -> list[dict]:
        """``list(run(epochs, until))``."""
        return list(self.run(epochs, until))

    def run_for(self, seconds: float, max_epochs: int | None = None) -> list[dict]:
        """Train whole epochs until ``seconds`` have passed (at least one epoch) — for UI ticks."""
        done: list[dict] = []
        deadline = time.perf_counter() + seconds
        self._stop_now.clear()
        while not self.paused and not self.finished and (max_epochs is None or len(done) < max_epochs):
            metrics = self.step_epoch()
            if metrics is None:
                break
            done.append(metrics)
            if time.perf_counter() >= deadline:
                break
        return done

    # ------------------------------------------------------------------ metrics
    def evaluate(self, splits: tuple[str, ...] = ("train", "test")) -> dict[str, float]:
        """The task's metrics for the current weights (no ``epoch``/``loss``), in one batch per split.

        ``splits`` limits the metrics to some of ``"train"``, ``"test"`` (where the task has both)."""
        with torch_threads(self.num_threads):
            if self.loop is not None:
                return self._evaluated(self.loop.evaluate) if "test" in splits else {}
            return self._evaluated(lambda: self.data.task.evaluate(self.model, self.data, splits))

    @torch.no_grad()
    def _evaluated(self, metrics: Callable[[], dict[str, float]]) -> dict[str, float]:
        """``metrics()`` in eval mode without autograd (the mode is restored after)."""
        was_training = self.model.training
        self.model.eval()
        try:
            return metrics()
        finally:
            self.model.train(was_training)

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
            "preset": self.preset,
            **({"until_epoch": self.until_epoch} if self.until_epoch is not None else {}),
            "betas": [float(b) for b in self.optimizer.param_groups[0].get("betas", (0.9, 0.999))],
            "generator_state": self.generator.get_state(),
            "options": {k: v for k, v in self.options.items() if v is None or isinstance(v, (int, float, str, bool))},
            **({"loop": self.loop.state_dict()} if self.loop is not None else {}),
            **({"partial": self._partial_state()} if self._partial is not None else {}),
        }

    # An epoch request_stop left part-way, as saved: the batches' order (the shuffled indices, int32), the batch
    # size and the number of training samples they were cut for, how many were done, the loss sum and the running
    # tallies so far, and the seconds spent. The generator's state saved beside it is the one after this epoch's
    # shuffle, so the epochs after it draw what an uninterrupted run draws.
    def _partial_state(self) -> dict[str, Any]:
        part = self._partial
        assert part is not None
        batches = part["batches"]
        return {
            "order": torch.cat(batches).to("cpu", torch.int32) if self.shuffle else None,
            "batch_size": self._batch_size_used(),
            "n_train": self.data.n_train,
            "next": int(part["next"]),
            "total": part["total"].detach().to("cpu").clone(),
            **({"batch_sum": part["batch_sum"].detach().to("cpu").clone()} if part.get("batch_sum") is not None
               else {}),
            **({"lr_start": float(part["lr_start"])} if part.get("lr_start") is not None else {}),
            "tallies": {k: v.detach().to("cpu").clone() for k, v in part["tallies"].items()},
            "seconds": float(part["seconds"]),
        }

    def restore_partial_epoch(self, saved: Mapping[str, Any]) -> bool:
        """Take up an epoch a checkpoint was saved in the middle of (its ``trainer_state()["partial"]``): the next
        ``run`` finishes it where it stopped. False (nothing changed) when it was cut for other data or another
        batch size — the next epoch then starts afresh; ValueError, saying what, when it is damaged."""
        n, size = self.data.n_train, self._batch_size_used()
        if not isinstance(saved, Mapping):
            raise ValueError("the saved part-epoch is damaged")
        if saved.get("n_train") != n or saved.get("batch_size") != size:
            return False
        if self.shuffle:
            batches: list[Tensor | slice] = list(checked_order(saved.get("order"), n).to(self.device).split(size))
        else:
            batches = self._batches()  # slices in order: nothing drawn
        self._partial = restored_partial(saved, batches, self.device)
        return True

    def save(self, path: str | Path, meta: dict | None = None, *, optimizer: bool = True) -> Path:
        """Save model, config, optimizer state, history and trainer state to ``path`` (atomically); the data's own
        meta (e.g. a corpus manifest) goes with them. ``optimizer=False`` leaves the optimizer state out (a smaller
        file; resuming from it starts the optimizer's moments afresh)."""
        return write_atomically(path, self.checkpoint_bytes(meta, optimizer=optimizer))

    def checkpoint_bytes(self, meta: dict | None = None, *, optimizer: bool = True) -> bytes:
        """The checkpoint :meth:`save` writes, as bytes (for a file the caller places, e.g. only as a new one)."""
        model = self.model
        if not isinstance(model, LSTMVizModel):
            raise TypeError("only lstm_viz models (with a .config) can be saved as checkpoints")
        return checkpoint_bytes(
            model,
            model.config,
            optimizer=self.optimizer if optimizer else None,
            history=self.history,
            meta={**self.data.meta, **(meta or {}), "trainer": self.trainer_state()},
        )


def make_trainer(
    task: str,
    *,
    preset: str = "fast",
    lr: float | None = None,
    batch_size: int | str | None = "preset",
    seed: int = 0,
    data: str | None = None,
    hidden_size: int | None = None,
    proj_size: int = 0,
    num_layers: int | None = None,
    bidirectional: bool = False,
    device: torch.device | str | None = None,
    resume: str | Path | bytes | Checkpoint | None = None,
    num_threads: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> Trainer:
    """A ready Trainer for a task: ``toy-statquest``, ``toy-lstm``, ``subtraction``, ``subtraction-gru`` or
    ``regressor``.

    ``preset`` ``"seed"`` is the post's recipe (StatQuest: Adam lr 0.001, batch 1, 5000 epochs; subtraction: lr
    0.01, batch 128, 100 epochs), ``"fast"`` a quicker one (StatQuest: full batch, lr 0.1, betas 0.9/0.9).
    ``lr`` and ``batch_size`` override the preset (``batch_size=None`` = full batch). ``seed`` seeds the model's
    init and the shuffling (with ``seed=822`` the subtraction model starts from exactly the post's weights).
    ``data``: ``"seed"`` or ``"all"`` (subtraction); None: the task's first source. ``resume``: a checkpoint
    (path, bytes or Checkpoint) to continue — its model, optimizer state, history, epoch count and, unless
    overridden, lr and batch size (and a task's own loop position and options). ``options``: the task's own recipe
    settings (``Task.training_options``, e.g. the character model's ``seq_len`` or ``minutes``) over the preset's;
    None values are "not given". The default length of a run is ``PRESETS[task][preset]["epochs"]`` (None: until
    the task's own loop has spent its budget).
    """
    task_obj = get_task(task)
    if task not in task_obj.training_names:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    recipe = task_obj.recipe(task, preset)
    device = torch.device(device) if device is not None else pick_device()
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"seed must be a whole number, got {seed!r}. Example: 0")
    first_source = task_obj.data_sources[0]
    given = {k: v for k, v in (options or {}).items() if v is not None}
    known = {o.name for o in task_obj.training_options}
    unknown = sorted(set(given) - known)
    if unknown:
        raise InputError(f"the {task} task has no option {', '.join(unknown)}"
                         + (f"; its options: {', '.join(sorted(known))}" if known else ""))  # fmt: skip
    preset_options = {k: v for k, v in recipe.items() if k in known}

    if resume is not None:
        ckpt = resume if isinstance(resume, Checkpoint) else load_checkpoint(resume, device=device)
        name = str(resume) if isinstance(resume, (str, Path)) else "the checkpoint"
        try:
            expected = task_of_config(ckpt.config)
        except ValueError:  # e.g. a plain nn.LSTM's state_dict: it can be explored, not resumed
            raise InputError(f"{name} holds a {ckpt.config.label()}, a model no lstm-viz task trains, so there is no "
                             f"run to continue; train a {task} model afresh (without --resume)") from None
        if expected != task:
            raise InputError(f"the checkpoint holds a {ckpt.config.label()} (task {expected!r}), not {task!r}")
        state = saved_trainer_state(ckpt, name)
        saved_source = state.get("source") if state.get("source") in task_obj.data_sources else None
        source = data if data is not None else (saved_source or first_source)  # an explicit --data wins
        task_data = make_task_data(task_obj, data=source, seed=int(state.get("seed", seed)))
        if batch_size == "preset":
            batch_size = state.get("batch_size", recipe["batch_size"])
        generator_state = state.get("generator_state")
        saved_options = dict(state.get("options") or {})
        note = task_obj.data_note(ckpt.meta, task_data.meta.get("manifest"))
        check_optimizer_state(ckpt.optimizer_state, ckpt.model, name)
        try:
            trainer = Trainer(
                ckpt.model,
                task_data,
                lr=lr if lr is not None else float(saved_options.get("lr", state.get("lr", recipe["lr"]))),
                batch_size=batch_size,  # type: ignore[arg-type]
                seed=int(state.get("seed", seed)),
                device=device,
                optimizer_state=ckpt.optimizer_state,
                history=ckpt.history,
                epoch=int(state.get("epoch", ckpt.history[-1]["epoch"] if ckpt.history else 0)),
                shuffle=state.get("shuffle", recipe["shuffle"]),  # True, False or "dataloader" (checked on load)
                num_threads=num_threads,
                task=task,
                generator_state=generator_state if isinstance(generator_state, Tensor) else None,
                betas=tuple(state.get("betas", recipe.get("betas", (0.9, 0.999)))),  # type: ignore[arg-type]
                options={**preset_options, **saved_options, **given},
                loop_state=state.get("loop") if isinstance(state.get("loop"), dict) else None,
                preset=state.get("preset") if isinstance(state.get("preset"), str) else preset,
            )
        except (KeyError, IndexError, RuntimeError) as err:  # a saved state that passed the checks but not torch
            raise CheckpointError(f"{name}: its saved training state is damaged ({type(err).__name__}: "
                                  f"{str(err)[:150]}); resume from another checkpoint or train afresh") from None
        trainer.notes += [note] if note else []
        until = state.get("until_epoch")
        if isinstance(until, int) and not isinstance(until, bool) and until >= 0:
            trainer.until_epoch = until
        partial = state.get("partial")
        if partial is not None:
            try:
                taken = trainer.restore_partial_epoch(partial)
            except ValueError as err:
                raise CheckpointError(f"{name}: {err}; resume from another checkpoint or train afresh") from None
            if not taken:
                trainer.notes.append(
                    f"{name} was saved {partial.get('next')} mini-batches into epoch {trainer.epoch + 1:,}, cut for "
                    "another batch size or data; its weights hold that part, and epoch "
                    f"{trainer.epoch + 1:,} starts afresh"
                )
        return trainer

    merged = {**preset_options, **given}
    if num_layers is None:  # not given: the task's own default
        num_layers = task_obj.default_config().num_layers
    config = task_obj.training_config(
        task, hidden_size=hidden_size, proj_size=proj_size, num_layers=num_layers, bidirectional=bidirectional
    )
    config = task_obj.configure(config, merged)
    check_fits_memory(config)
    task_data = make_task_data(task_obj, data=data if data is not None else first_source, seed=seed)
    with seeded(seed):  # the model's initial weights come from seed alone, whatever other sessions do meanwhile
        task_obj.seed_init(seed)
        model = task_obj.build(config)
        task_obj.init_model(model, merged)
        # a post's DataLoader shuffles from the global generator where the model's init left it: ours starts there
        order_state = torch.get_rng_state() if recipe["shuffle"] == "dataloader" else None
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
        options=merged,
        preset=preset,
        generator_state=order_state,
    )
