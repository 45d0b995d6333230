"""The package's shape, checked from the source: layers that only import downward, no cycles, Streamlit only in UI
modules, no module over 600 lines, and no comparison against a task name outside ``lstm_viz/tasks/``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lstm_viz.tasks import registered

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lstm_viz"
MAX_LINES = 600

# Lower layers never import higher ones; folders of one layer do not import each other.
LAYERS: dict[str, int] = {
    "core": 0, "parsing": 0, "paths": 0,
    "tasks": 1,
    "training": 2, "viz": 2,
    "app": 3, "corpus": 3,
    "explorer": 4, "cell_step": 4, "live": 4, "lstmp": 4, "gradients": 4, "text": 4, "interventions": 4,
    "cli": 5,
}  # fmt: skip
# The package's entry points sit above everything.
TOP = {"__init__", "__main__"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every ``lstm_viz`` module a file imports (top level, in functions, under TYPE_CHECKING), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("lstm_viz"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.append((candidate if candidate in MODULES else node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found.extend((a.name, node.lineno) for a in node.names if a.name.startswith("lstm_viz"))
    return found


def _folder(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _is_package_init(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def test_every_folder_has_a_layer():
    folders = {_folder(m) for m in MODULES} - TOP - {"__init__"}
    assert folders <= set(LAYERS), f"give these a layer in tests/test_architecture.py: {folders - set(LAYERS)}"


def test_imports_flow_downward():
    wrong = []
    for module, path in MODULES.items():
        here = _folder(module)
        if here in TOP or module == "lstm_viz":
            continue
        for target, line in _imports(path):
            there = _folder(target)
            if there in TOP or there == here or target == "lstm_viz":
                continue
            if LAYERS[there] > LAYERS[here] or (LAYERS[there] == LAYERS[here]):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target} ({there} is not below {here})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    graph = {m: {t for t, _ in _imports(p) if t in MODULES and t != m} for m, p in MODULES.items()}
    # A package's __init__ re-exporting its modules is not a cycle of the design: leave those edges out.
    graph = {m: {t for t in ts if not (_is_package_init(t) and m.startswith(t + "."))} for m, ts in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in graph:
        if module not in state:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


def test_streamlit_only_in_ui_modules():
    offenders = []
    for path in MODULES.values():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "streamlit" or n.startswith("streamlit.") for n in names) and path.name != "ui.py":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"Streamlit imported outside a ui.py module: {offenders}"


def test_every_torch_load_refuses_pickled_code():
    """A .pt from a visitor or a command line can hold a pickle that runs code when loaded: every ``torch.load``
    (``load`` called on ``torch``) in the package and the app says ``weights_only=True``."""
    unsafe = []
    for path in [*MODULES.values(), ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch"):  # fmt: skip
                safe = any(k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
                           for k in node.keywords)  # fmt: skip
                if not safe:
                    unsafe.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not unsafe, f"torch.load without weights_only=True: {unsafe}"


def test_no_module_over_600_lines():
    long = {str(p.relative_to(ROOT)): n for p in MODULES.values() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


# ---------------------------------------------------------------------------------------------- task names
def _task_words() -> set[str]:
    words = {"toy", "vectors", "regression"}  # the vocabularies of old, before the Task protocol
    for task in registered():
        words.add(task.kind)
        words.update(task.training_names)
    return words


def _named(node: ast.AST, words: set[str]) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value in words
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_named(e, words) for e in node.elts)
    return False


def task_name_comparisons(source: str, words: set[str]) -> list[int]:
    """Lines that compare with a task name: ``==``/``!=``/``in`` against one, ``.startswith`` one, or a dict keyed
    by task names (a lookup table that stands in for a comparison)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Compare) and any(_named(n, words) for n in (node.left, *node.comparators))) or (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("startswith", "endswith")
            and any(_named(a, words) for a in node.args)
        ) or (isinstance(node, ast.Dict) and any(k is not None and _named(k, words) for k in node.keys)):
            lines.append(node.lineno)
    return lines


def test_the_checker_finds_comparisons():
    words = _task_words()
    assert task_name_comparisons('if config.kind == "subtraction": pass', words) == [1]
    assert task_name_comparisons('x = name in ("toy", "vectors")', words) == [1]
    assert task_name_comparisons('ok = task.startswith("subtraction")', words) == [1]
    assert task_name_comparisons('LABELS = {"toy-lstm": 1}', words) == [1]
    assert task_name_comparisons('if cell == "gru": pass', words) == []


@pytest.mark.parametrize(
    "path",
    [p for p in [*PACKAGE.rglob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py"]
     if PACKAGE / "tasks" not in p.parents],
    ids=lambda p: str(p.relative_to(ROOT)),
)  # fmt: skip
def test_no_task_name_comparisons_outside_tasks(path: Path):
    lines = task_name_comparisons(path.read_text(encoding="utf-8"), _task_words())
    assert not lines, f"{path.relative_to(ROOT)} compares against a task name on lines {lines}: ask the task instead"
