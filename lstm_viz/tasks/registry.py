"""The task registry: every task object by its config kind and by its command-line names, looked up once.

Tasks are registered in order by ``lstm_viz/tasks/__init__.py`` (one line per task); that order is the order of
lists (the CLI's task choices, the recognition of plain state_dicts). Nothing outside ``lstm_viz/tasks/`` compares
task names: it asks :func:`task_for` (a model config → its task) or :func:`get_task` (a name → its task) and then
asks the task.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Task(Protocol):
    """What the registry needs of a task (the whole protocol is ``lstm_viz.tasks.base.Task``)."""

    kind: str
    training_names: Mapping[str, Mapping[str, Any]]

__all__ = ["get_task", "kinds", "register", "registered", "task_for", "training_names"]

_BY_KIND: dict[str, Task] = {}
_BY_NAME: dict[str, Task] = {}


def register(*tasks: Task) -> tuple[Task, ...]:
    """Add tasks to the registry (each kind and each training name once); returns them."""
    for task in tasks:
        if task.kind in _BY_KIND:
            raise ValueError(f"a task of kind {task.kind!r} is already registered")
        for name in task.training_names:
            if name in _BY_NAME or name in _BY_KIND:
                raise ValueError(f"the task name {name!r} is already registered")
        _BY_KIND[task.kind] = task
        _BY_NAME.update(dict.fromkeys(task.training_names, task))
    return tasks


def registered() -> tuple[Task, ...]:
    """Every task, in registry order."""
    return tuple(_BY_KIND.values())


def kinds() -> tuple[str, ...]:
    """Every config kind (``ModelConfig.kind``), in registry order."""
    return tuple(_BY_KIND)


def training_names() -> tuple[str, ...]:
    """Every name a model can be trained under (``python -m lstm_viz train NAME``), in registry order."""
    return tuple(_BY_NAME)


def task_for(config: Any) -> Task:
    """The task of a model config (or of its ``kind`` string); ValueError naming the known kinds otherwise."""
    kind = getattr(config, "kind", config)
    try:
        return _BY_KIND[kind]
    except (KeyError, TypeError):
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(_BY_KIND)}") from None


def get_task(name: str) -> Task:
    """The task a training name (``toy-statquest``, ``subtraction-gru``, …) or a config kind belongs to."""
    task = _BY_NAME.get(name) if isinstance(name, str) else None
    if task is None and isinstance(name, str):
        task = _BY_KIND.get(name)
    if task is None:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(_BY_NAME)}")
    return task
