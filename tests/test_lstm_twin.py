"""RecordingLSTM as a drop-in nn.LSTM: nn.LSTM runs as the control in every test, on the same arguments.

The exceptions (class and message) of forward, record and the constructor; TorchScript; and a slice of PyTorch's own
nn.LSTM tests (test/test_nn.py and the ModuleInfo samples of torch/testing/_internal/common_modules.py), ported to
run against both classes (torch.testing._internal needs expecttest, which the project does not install).
"""

import copy
import io
import itertools
import pickle
import re

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from lstm_viz import RecordingLSTM
from lstm_viz.core.errors import (
    RNNArgumentAttributeError,
    RNNArgumentError,
    RNNArgumentIndexError,
    RNNArgumentRuntimeError,
    RNNArgumentTypeError,
)

CLASSES = [nn.LSTM, RecordingLSTM]


def _outcome(fn):
    """The exception ``fn()`` raises, or None."""
    try:
        fn()
    except Exception as err:
        return err
    return None


def _twins(*args, **kwargs):
    torch.manual_seed(0)
    ref = nn.LSTM(*args, **kwargs)
    return ref, RecordingLSTM.from_lstm(ref)


# ---------------------------------------------------------------------------------------------------- forward errors
# (label, constructor args, constructor kwargs, make (x, hx), check): check None: ours starts with nn.LSTM's message
# and adds the expected and given shapes; SAME: nn.LSTM's message, already complete; a regex: ours must match it,
# where nn.LSTM's message is its kernel's internals ("get_mkldnn_dtype: unsupported data type") and is not repeated.
SAME = "same"


def _t(*shape, dtype=torch.float32, device="cpu"):
    return torch.randn(*shape, dtype=dtype, device=device)


FORWARD_ERRORS = [
    ("hx of the wrong batch", (3, 5, 2), {}, lambda: (_t(6, 7, 3), (_t(2, 4, 5), _t(2, 4, 5))), None),
    ("c0 of the wrong batch", (3, 5, 2), {}, lambda: (_t(6, 7, 3), (_t(2, 7, 5), _t(2, 4, 5))), None),
    ("hx of the wrong size", (3, 5, 2), {}, lambda: (_t(6, 7, 3), (_t(2, 7, 4), _t(2, 7, 4))), None),
    ("hx for the wrong number of layers", (3, 5, 2), {}, lambda: (_t(6, 7, 3), (_t(7, 7, 5), _t(7, 7, 5))), None),
    ("input of the wrong feature size", (3, 5, 2), {}, lambda: (_t(6, 7, 4), None), None),
    ("unbatched input of the wrong feature size", (3, 5), {}, lambda: (_t(6, 4), None), None),
    ("zero time steps", (5, 6), {}, lambda: (torch.ones(0, 10, 5), None), None),
    ("zero time steps, bidirectional", (5, 6), {"bidirectional": True}, lambda: (torch.ones(0, 10, 5), None), None),
    ("zero time steps, batch_first", (5, 6), {"batch_first": True}, lambda: (torch.ones(10, 0, 5), None), None),
    ("zero time steps, unbatched", (5, 6), {}, lambda: (torch.ones(0, 5), None), None),
    ("float64 input, float32 weights", (3, 5, 2), {}, lambda: (_t(6, 7, 3, dtype=torch.float64), None), SAME),
    ("float32 input, float64 weights", (3, 5), {"dtype": torch.float64}, lambda: (_t(6, 7, 3), None), SAME),
    (
        "integer input",
        (3, 5),
        {},
        lambda: (torch.ones(6, 7, 3, dtype=torch.long), None),
        r"RNN input dtype \(torch.int64\) does not match weight dtype \(torch.float32\)\. Convert input: "
        r"input\.to\(torch\.float32\)",
    ),
    (
        "float64 hx, float32 weights",
        (3, 5, 2),
        {},
        lambda: (_t(6, 7, 3), (_t(2, 7, 5, dtype=torch.float64), _t(2, 7, 5, dtype=torch.float64))),
        r"h0 dtype \(torch.float64\) does not match weight dtype \(torch.float32\).*h0\.to\(torch\.float32\)",
    ),
    (
        "float64 c0, float32 weights",
        (3, 5, 2),
        {},
        lambda: (_t(6, 7, 3), (_t(2, 7, 5), _t(2, 7, 5, dtype=torch.float64))),
        r"c0 dtype \(torch.float64\) does not match weight dtype \(torch.float32\)",
    ),
    (
        "bfloat16 c0, float32 weights",
        (3, 5),
        {},
        lambda: (_t(6, 7, 3), (_t(1, 7, 5), _t(1, 7, 5, dtype=torch.bfloat16))),
        r"c0 dtype \(torch.bfloat16\) does not match",
    ),
    ("a single tensor as hx", (3, 5, 2), {}, lambda: (_t(6, 7, 3), _t(2, 7, 5)), None),
    ("a single tensor as hx, one layer", (3, 5), {}, lambda: (_t(6, 7, 3), _t(1, 7, 5)), None),
    (
        "h0 and c0 stacked in one tensor",
        (3, 5, 2),
        {},
        lambda: (_t(6, 7, 3), torch.stack([_t(2, 7, 5), _t(2, 7, 5)])),
        r"hx must be a tuple \(h0, c0\) of two tensors, not a single tensor of shape \(2, 2, 7, 5\)",
    ),
    ("3-D hx with unbatched input", (3, 5, 2), {}, lambda: (_t(6, 3), (_t(2, 1, 5), _t(2, 1, 5))), None),
    ("2-D hx with batched input", (3, 5, 2), {}, lambda: (_t(6, 7, 3), (_t(2, 5), _t(2, 5))), None),
    ("unbatched hx of the wrong size", (3, 5, 2), {}, lambda: (_t(6, 3), (_t(2, 4), _t(2, 5))), None),
    ("a Python list as input", (3, 5, 2), {}, lambda: ([[1.0, 2.0, 3.0]], None), None),
    ("None as input", (3, 5, 2), {}, lambda: (None, None), None),
    ("1-D input", (3, 5, 2), {}, lambda: (_t(3), None), None),
    ("4-D input", (3, 5, 2), {}, lambda: (_t(1, 6, 7, 3), None), None),
    ("three hidden states", (3, 5, 2), {}, lambda: (_t(6, 7, 3), (_t(2, 7, 5),) * 3), None),
    ("one hidden state", (3, 5, 2), {}, lambda: (_t(6, 7, 3), (_t(2, 7, 5),)), None),
    ("an int as hx", (3, 5, 2), {}, lambda: (_t(6, 7, 3), 3), None),
    (  # record took it (hx[0], hx[1] read fine) where nn.LSTM's kernel refuses anything but a sequence
        "a dict {0: h0, 1: c0} as hx",
        (3, 5, 2),
        {},
        lambda: (_t(6, 7, 3), {0: _t(2, 7, 5), 1: _t(2, 7, 5)}),
        r"hx must be a tuple \(h0, c0\) of two tensors, h0 of shape \(2, 7, 5\) and c0 of shape \(2, 7, 5\); "
        r"got a dict",
    ),
    ("(None, None) as hx", (3, 5, 2), {}, lambda: (_t(6, 7, 3), (None, None)), None),
    ("input on another device", (3, 5, 2), {}, lambda: (_t(6, 7, 3, device="meta"), None), None),
    ("h0 on another device", (3, 5, 2), {}, lambda: (_t(6, 7, 3), (_t(2, 7, 5, device="meta"), _t(2, 7, 5))), None),
    # test_projections_lstm_args_check's cases
    (
        "LSTMP: c0 of the size of h",
        (3, 5, 2),
        {"proj_size": 2},
        lambda: (_t(6, 4, 3), (_t(2, 4, 2), _t(2, 4, 2))),
        None,
    ),
    ("LSTMP: h0 of hidden_size", (3, 5, 2), {"proj_size": 2}, lambda: (_t(6, 4, 3), (_t(2, 4, 5), _t(2, 4, 5))), None),
    ("LSTMP: wrong batch", (3, 5, 2), {"proj_size": 2}, lambda: (_t(6, 7, 3), (_t(2, 4, 2), _t(2, 4, 5))), None),
]


@pytest.mark.parametrize("method", ["forward", "record"])
@pytest.mark.parametrize("label,args,kwargs,make,regex", FORWARD_ERRORS, ids=[case[0] for case in FORWARD_ERRORS])
def test_bad_arguments_raise_what_nn_lstm_raises(method, label, args, kwargs, make, regex):
    ref, twin = _twins(*args, **kwargs)
    x, hx = make()
    expected = _outcome(lambda: ref(x, hx))
    assert expected is not None, "the control: nn.LSTM refuses these arguments"
    call = twin if method == "forward" else twin.record
    got = _outcome(lambda: call(x, hx))
    assert isinstance(got, type(expected)), (type(got), type(expected))
    assert isinstance(got, RNNArgumentError) and isinstance(got, ValueError)  # what lstm-viz's callers catch
    if regex is None:
        assert str(got).startswith(str(expected))  # nn.LSTM's own message, then ours
        assert len(str(got)) > len(str(expected)) + 20  # ...with what was expected and what was given
    elif regex == SAME:
        assert str(got) == str(expected)
    else:
        assert re.search(regex, str(got)), str(got)


def test_messages_name_the_expected_and_the_given_shapes():
    model = RecordingLSTM(3, 4, 2, batch_first=True)
    for call in (model, model.record):
        with pytest.raises(RuntimeError, match=r"input_size=3.*got shape \(2, 5, 7\)"):
            call(torch.randn(2, 5, 7))
        with pytest.raises(ValueError, match=r"2-D.*3-D.*1-D tensor of shape \(5,\)"):
            call(torch.randn(5))
        with pytest.raises(RuntimeError, match=r"h0 must have shape \(2, 2, 4\).*batch = 2.*got \(1, 2, 4\)"):
            call(torch.randn(2, 5, 3), (torch.zeros(1, 2, 4), torch.zeros(2, 2, 4)))
        with pytest.raises(RuntimeError, match=r"c0 must have shape \(2, 2, 4\).*got \(2, 3, 4\)"):
            call(torch.randn(2, 5, 3), (torch.zeros(2, 2, 4), torch.zeros(2, 3, 4)))
        with pytest.raises(RuntimeError, match=r"time axis, dimension 1 \(batch_first\), is empty"):
            call(torch.randn(2, 0, 3))
        with pytest.raises(RuntimeError, match=r"hx must be a tuple \(h0, c0\), not a single tensor"):
            call(torch.randn(2, 5, 3), torch.zeros(2, 2, 4))
        with pytest.raises(AttributeError, match="must be a torch.Tensor"):
            call([[0.0, 1.0, 2.0]])


# PyTorch's own tests match these (test_nn.py, ModuleInfo's error inputs).
@pytest.mark.parametrize(
    "args,kwargs,make,pattern,cls",
    [
        ((3, 5, 2), {}, lambda: (_t(6, 7, 3), (_t(2, 4, 5), _t(2, 4, 5))), r"Expected hidden\[0\] size", RuntimeError),
        ((3, 5, 2), {}, lambda: (_t(6, 7, 3), (_t(2, 7, 5), _t(2, 4, 5))), r"Expected hidden\[1\] size", RuntimeError),
        ((3, 5), {}, lambda: (_t(6, 7, 4), None), r"input.size\(-1\) must be equal to input_size", RuntimeError),
        (
            (5, 6),
            {},
            lambda: (torch.ones(0, 10, 5), None),
            "Expected sequence length to be larger than 0 in RNN",
            RuntimeError,
        ),
        (
            (3, 5),
            {},
            lambda: (_t(2, 4, 3, dtype=torch.float64), None),
            r"RNN input dtype .* does not match weight dtype .* "
            r"Convert input: input\.to\(.*\), or convert model: model\.to\(.*\)",
            ValueError,
        ),
    ],
)
def test_messages_pytorch_tests_match(args, kwargs, make, pattern, cls):
    for model_cls in CLASSES:
        model = model_cls(*args, **kwargs)
        x, hx = make()
        calls = [model] + ([model.record] if model_cls is RecordingLSTM else [])
        for call in calls:
            with pytest.raises(cls, match=pattern):
                call(x, hx)


ACCEPTED = [
    ("hx as a list", (3, 5, 2), {}, lambda: (_t(6, 7, 3), [_t(2, 7, 5), _t(2, 7, 5)])),
    ("a batch of zero sequences", (3, 4), {}, lambda: (torch.zeros(5, 0, 3), None)),
    ("zero sequences with hx", (3, 4), {}, lambda: (torch.zeros(5, 0, 3), (_t(1, 0, 4), _t(1, 0, 4)))),
    ("non-contiguous hx", (3, 5, 2), {}, lambda: (_t(6, 7, 3), (_t(2, 5, 7).transpose(1, 2), _t(2, 7, 5)))),
    ("unbatched with hx", (3, 5, 2), {"bidirectional": True}, lambda: (_t(6, 3), (_t(4, 5), _t(4, 5)))),
    ("float32 c0 with bfloat16 weights", (3, 5), {"dtype": torch.bfloat16}, lambda: (
        _t(6, 7, 3, dtype=torch.bfloat16), (_t(1, 7, 5, dtype=torch.bfloat16), _t(1, 7, 5)))),
    ("float32 c0 with bfloat16 weights, 2 layers bidirectional", (3, 5, 2),
     {"dtype": torch.bfloat16, "bidirectional": True}, lambda: (
        _t(6, 7, 3, dtype=torch.bfloat16), (_t(4, 7, 5, dtype=torch.bfloat16), _t(4, 7, 5)))),
    ("float32 c0 with float64 weights", (3, 5), {"dtype": torch.float64}, lambda: (
        _t(6, 7, 3, dtype=torch.float64), (_t(1, 7, 5, dtype=torch.float64), _t(1, 7, 5)))),
    ("requires_grad hx", (3, 5), {}, lambda: (_t(6, 7, 3), (_t(1, 7, 5).requires_grad_(), _t(1, 7, 5)))),
]  # fmt: skip


@pytest.mark.parametrize("label,args,kwargs,make", ACCEPTED, ids=[case[0] for case in ACCEPTED])
def test_what_nn_lstm_runs_forward_and_record_run(label, args, kwargs, make):
    ref, twin = _twins(*args, **kwargs)
    x, hx = make()
    with torch.no_grad():
        out, (h_n, c_n) = ref(x, hx)
        out2, (h_n2, c_n2) = twin(x, hx)
    assert torch.equal(out, out2) and torch.equal(h_n, h_n2) and torch.equal(c_n, c_n2)
    tol = {"atol": 2e-2, "rtol": 2e-2} if out.dtype == torch.bfloat16 else {"atol": 1e-5, "rtol": 1e-4}
    for strategy in ("auto", "loop"):
        rec = twin.record(x, hx, strategy=strategy)
        assert rec.output.shape == out.shape and rec.h_n.shape == h_n.shape and rec.c_n.shape == c_n.shape
        # the dtypes too: a float32 c0 beside bfloat16 weights gives a float32 c_n, as nn.LSTM's
        assert (rec.output.dtype, rec.h_n.dtype, rec.c_n.dtype) == (out.dtype, h_n.dtype, c_n.dtype), strategy
        assert torch.allclose(rec.output.float(), out.float(), **tol)
        assert torch.allclose(rec.c_n.float(), c_n.float(), **tol)
    if x.dtype == torch.bfloat16 and hx[1].dtype == torch.float32:  # replay runs nn.LSTM's kernel as nn.LSTM does
        rec = twin.record(x, hx, strategy="replay")
        assert torch.equal(rec.output, out) and torch.equal(rec.c_n, c_n)


def test_under_autocast_forward_runs_like_nn_lstm_and_record_computes_in_the_weights_dtype():
    ref, twin = _twins(3, 5)
    x = torch.randn(6, 2, 3, dtype=torch.bfloat16)  # nn.LSTM skips its dtype check under autocast
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = ref(x)[0]
        assert torch.equal(twin(x)[0], out)
        rec = twin.record(x)
    assert rec.f.dtype == torch.float32
    assert torch.allclose(rec.output, twin.record(x.float()).output)


def test_errors_that_are_not_about_the_arguments_are_nn_lstms_own():
    """A KeyError from indexing a dict hx is nn.LSTM's own (not an argument check of ours): passed on unchanged."""
    ref, twin = _twins(3, 5)
    x = torch.randn(4, 2, 3)
    expected = _outcome(lambda: ref(x, {}))
    got = _outcome(lambda: twin(x, {}))
    assert type(got) is type(expected) is KeyError


def test_packed_sequences_run_through_forward_and_record():
    ref, twin = _twins(3, 5, 2, bidirectional=True)
    packed = pack_padded_sequence(torch.randn(6, 3, 3), [6, 4, 2])
    out, (h_n, _) = ref(packed)
    out2, (h_n2, _) = twin(packed)
    assert torch.equal(out.data, out2.data) and torch.equal(h_n, h_n2)
    rec = twin.record(packed)  # the values are checked in tests/test_packed.py
    assert torch.equal(rec.output.data, out.data) and torch.equal(rec.h_n, h_n)


# ---------------------------------------------------------------------------------------------------- constructor
CONSTRUCTOR_ERRORS = [
    ((3.0, 5), {}, "input_size should be of type int, got: float"),
    (("10", 5), {}, "input_size should be of type int, got: str"),
    ((3, 5.0), {}, "hidden_size should be of type int, got: float"),
    ((0, 5), {}, "input_size must be greater than zero"),
    ((-1, 5), {}, "input_size must be greater than zero"),
    ((10, 0, 1), {}, "hidden_size must be greater than zero"),
    ((3, -1), {}, "hidden_size must be greater than zero"),
    ((10, 10, 0), {}, "num_layers must be greater than zero"),
    ((3, 5, -1), {}, "num_layers must be greater than zero"),
    ((3, 5, 2.0), {}, "num_layers should be of type int, got: float"),
    ((3, 5, "2"), {}, "num_layers should be of type int, got: str"),
    ((3, 5), {"proj_size": 5}, "proj_size has to be smaller than hidden_size"),
    ((3, 5), {"proj_size": -1}, "proj_size should be a positive integer or zero to disable projections"),
    ((3, 5), {"proj_size": 2.0}, "proj_size should be of type int, got: float"),
    ((3, 5), {"bias": 0}, "bias should be of type bool, got: int"),
    ((3, 5), {"bias": "True"}, "bias should be of type bool, got: str"),
    ((3, 5), {"batch_first": 1}, "batch_first should be of type bool, got: int"),
    ((3, 5), {"batch_first": "False"}, "batch_first should be of type bool, got: str"),
    ((3, 5), {"dropout": 2}, "dropout should be a number in range"),
    ((3, 5), {"dropout": True}, "dropout should be a number in range"),
]


@pytest.mark.parametrize("args,kwargs,pattern", CONSTRUCTOR_ERRORS)
def test_constructor_refuses_what_nn_lstm_refuses(args, kwargs, pattern):
    expected = _outcome(lambda: nn.LSTM(*args, **kwargs))
    got = _outcome(lambda: RecordingLSTM(*args, **kwargs))
    assert expected is not None and isinstance(got, type(expected)), (type(got), type(expected))
    assert isinstance(got, ValueError)
    assert re.search(pattern, str(got)), str(got)
    if re.search(pattern, str(expected)):  # nn.LSTM's own check: its message, then the value given
        assert str(got).startswith(str(expected)) and len(str(got)) > len(str(expected)) + 4
    # (else nn.LSTM fails further in, e.g. in torch.empty or range(); ours says which argument)


@pytest.mark.parametrize(
    "args,kwargs",
    [((True, 5), {}), ((3, 5), {"proj_size": 0.0}), ((3, 5), {"bidirectional": 1}), ((3, 5, 2), {"dropout": 1})],
)
def test_constructor_takes_what_nn_lstm_takes(args, kwargs):
    ref = nn.LSTM(*args, **kwargs)
    twin = RecordingLSTM(*args, **kwargs)
    assert [p.shape for p in ref.parameters()] == [p.shape for p in twin.parameters()]


def test_exception_classes_are_both_kinds():
    for cls, builtin in (
        (RNNArgumentRuntimeError, RuntimeError),
        (RNNArgumentTypeError, TypeError),
        (RNNArgumentAttributeError, AttributeError),
        (RNNArgumentIndexError, IndexError),
    ):
        assert issubclass(cls, builtin) and issubclass(cls, ValueError) and issubclass(cls, RNNArgumentError)
        assert str(cls("a message")) == "a message"
        assert pickle.loads(pickle.dumps(cls("m"))).args == ("m",)


# ---------------------------------------------------------------------------------------------------- TorchScript
class _Uses(nn.Module):
    """A module that calls an LSTM three ways: batched with (h0, c0), batched without, unbatched."""

    def __init__(self, lstm: nn.Module) -> None:
        super().__init__()
        self.lstm = lstm

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        out, (h_n, c_n) = self.lstm(x, (h, c))
        out2, _ = self.lstm(x)
        out3, (h_n3, _) = self.lstm(x[:, 0] if not self.lstm.batch_first else x[0])
        return out, h_n, c_n, out2, out3, h_n3


class _UsesPacked(nn.Module):
    def __init__(self, lstm: nn.Module) -> None:
        super().__init__()
        self.lstm = lstm

    def forward(self, x: torch.nn.utils.rnn.PackedSequence):
        out, (h_n, c_n) = self.lstm(x)
        return out.data, h_n, c_n


@pytest.mark.parametrize("proj_size,bidirectional,batch_first", [(0, False, False), (2, True, True), (0, True, False)])
def test_torchscript_compiles_and_equals_eager_as_for_nn_lstm(proj_size, bidirectional, batch_first):
    ref, twin = _twins(3, 5, 2, proj_size=proj_size, bidirectional=bidirectional, batch_first=batch_first)
    D = 2 if bidirectional else 1
    x = torch.randn((2, 6, 3) if batch_first else (6, 2, 3))
    h, c = torch.randn(2 * D, 2, proj_size or 5), torch.randn(2 * D, 2, 5)
    packed = pack_padded_sequence(torch.randn(6, 3, 3), [6, 4, 2])
    for model in (ref, twin):
        torch.jit.script(model)  # the module alone compiles (its overloaded forward is called from scripted code)
        eager, scripted = _Uses(model), torch.jit.script(_Uses(model))
        for a, b in zip(eager(x, h, c), scripted(x, h, c), strict=True):
            assert torch.equal(a, b)
        eager_p, scripted_p = _UsesPacked(model), torch.jit.script(_UsesPacked(model))
        for a, b in zip(eager_p(packed), scripted_p(packed), strict=True):
            assert torch.equal(a, b)
        buffer = io.BytesIO()
        torch.jit.save(scripted, buffer)
        buffer.seek(0)
        loaded = torch.jit.load(buffer)
        assert torch.equal(loaded(x, h, c)[0], eager(x, h, c)[0])
    # the scripted twin computes what nn.LSTM computes
    assert torch.equal(torch.jit.script(_Uses(twin))(x, h, c)[0], torch.jit.script(_Uses(ref))(x, h, c)[0])


def test_torchscript_errors_are_nn_lstms():
    ref, twin = _twins(3, 5)
    messages = []
    for model in (ref, twin):
        scripted = torch.jit.script(_Uses(model))
        with pytest.raises(torch.jit.Error) as info:
            scripted(torch.randn(6, 2, 4), torch.zeros(1, 2, 5), torch.zeros(1, 2, 5))
        messages.append(str(info.value).strip().splitlines()[-1])
    assert messages[0] == messages[1] and "input.size(-1) must be equal to input_size" in messages[0]


def test_torch_jit_trace_and_torch_compile_run_the_twin():
    ref, twin = _twins(3, 5)
    x = torch.randn(6, 2, 3)
    traced = torch.jit.trace(twin, (x,))
    assert torch.equal(traced(x)[0], ref(x)[0])
    compiled = torch.compile(twin, backend="eager")  # dynamo traces the eager forward (no C++ compiler needed)
    assert torch.equal(compiled(x)[0], ref(x)[0])
    with pytest.raises(RuntimeError, match="input.size") as info:
        compiled(torch.randn(6, 2, 4))
    assert isinstance(info.value, ValueError)


# ---------------------------------------------------------------------------------------------------- ported tests
# From PyTorch's test/test_nn.py (TestNN), rewritten for pytest with nn.LSTM as the control.
@pytest.mark.parametrize("cls", CLASSES)
def test_rnn_args_check(cls):
    input_size, hidden_size, num_layers, batch_size, seq_len, bad = 3, 5, 2, 4, 6, 7
    correct_input = (seq_len, batch_size, input_size)
    correct_hidden = (num_layers, batch_size, hidden_size)

    def update(shape, dim, size):
        shape = list(shape)
        shape[dim] = size
        return tuple(shape)

    def inputs(input_shape, hidden_shape):
        x, hidden = torch.randn(input_shape), torch.randn(hidden_shape)
        if hidden_shape == correct_hidden:
            return [(x, (hidden, hidden))]
        good = torch.randn(correct_hidden)
        return [(x, (hidden, good)), (x, (good, hidden))]

    cases = [
        (update(correct_input, 1, bad), correct_hidden),  # input batch
        (correct_input, update(correct_hidden, 1, bad)),  # hidden batch
        (update(correct_input, 2, bad), correct_hidden),  # input size
        (correct_input, update(correct_hidden, 2, bad)),  # hidden size
        (correct_input, update(correct_hidden, 0, bad)),  # hidden[0]
    ]
    model = cls(input_size, hidden_size, num_layers)
    for input_shape, hidden_shape in cases:
        for x, hidden in inputs(input_shape, hidden_shape):
            with pytest.raises(RuntimeError):
                model(x, hidden)
            if cls is RecordingLSTM:
                with pytest.raises(RuntimeError):
                    model.record(x, hidden)


@pytest.mark.parametrize("cls", CLASSES)
def test_projections_lstm_args_check(cls):
    input_size, hidden_size, proj_size, num_layers, batch_size, seq_len, bad = 3, 5, 2, 2, 4, 6, 7
    correct_input = (seq_len, batch_size, input_size)
    correct_h = (num_layers, batch_size, proj_size)
    correct_c = (num_layers, batch_size, hidden_size)

    def update(shape, dim, size):
        shape = list(shape)
        shape[dim] = size
        return tuple(shape)

    cases = [
        (update(correct_input, 1, bad), correct_h, correct_c),  # input batch
        (correct_input, update(correct_h, 1, bad), update(correct_c, 1, bad)),  # hidden batch
        (update(correct_input, 2, bad), correct_h, correct_c),  # input size
        (correct_input, update(correct_h, 2, bad), update(correct_c, 2, bad)),  # hidden size
        (correct_input, update(correct_h, 0, bad), update(correct_c, 0, bad)),  # hidden[0]
        (correct_input, update(correct_h, 2, hidden_size), correct_c),  # h of hidden_size instead of proj_size
        (correct_input, correct_h, update(correct_c, 2, proj_size)),  # c of proj_size instead of hidden_size
    ]
    model = cls(input_size, hidden_size, num_layers, proj_size=proj_size)
    for input_shape, h_shape, c_shape in cases:
        x, hidden = torch.randn(input_shape), (torch.randn(h_shape), torch.randn(c_shape))
        with pytest.raises(RuntimeError):
            model(x, hidden)
        if cls is RecordingLSTM:
            with pytest.raises(RuntimeError):
                model.record(x, hidden)


@pytest.mark.parametrize("cls", CLASSES)
def test_RNN_input_size_zero(cls):
    """A batch of zero sequences (PyTorch's name for the test): forward gives (5, 0, 4) and backward runs."""
    x = torch.zeros((5, 0, 3))
    model = cls(input_size=3, hidden_size=4)
    out = model(x)
    assert out[0].shape == torch.Size([5, 0, 4])
    out[0].sum().backward()


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("bidirectional", [True, False])
def test_error_RNN_seq_len_zero(cls, bidirectional):
    x = torch.ones(0, 10, 5)
    model = cls(5, 6, bidirectional=bidirectional)
    with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0 in RNN"):
        model(x)


@pytest.mark.parametrize("cls", CLASSES)
def test_rnn_initial_hidden_state(cls):
    model = cls(30, 20, 2)
    x = torch.randn(10, 32, 30)
    hidden = torch.zeros(2, 32, 20)
    out1, hidden1 = model(x, (hidden, hidden))
    out2, hidden2 = model(x)
    assert torch.equal(out1, out2)
    assert all(torch.equal(a, b) for a, b in zip(hidden1, hidden2, strict=True))


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rnn_retain_variables(cls, dtype):
    model = cls(10, 20, num_layers=2).to(dtype=dtype)
    x = torch.randn(5, 6, 10, dtype=dtype, requires_grad=True)
    out = model(x)
    out[0].sum().backward(retain_graph=True)
    grads = [x.grad.clone()] + [p.grad.clone() for p in model.parameters()]
    for _ in range(4):
        model.zero_grad()
        x.grad.zero_()
        out[0].sum().backward(retain_graph=True)
        grads2 = [x.grad] + [p.grad for p in model.parameters()]
        assert all(torch.equal(a, b) for a, b in zip(grads, grads2, strict=True))


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("name,proj_size,n_params", [("weight_ih_l0", 0, 4), ("weight_hr_l0", 16, 5)])
def test_rnn_weight_norm(cls, name, proj_size, n_params):
    model = cls(32, 32, proj_size=proj_size)
    model = torch.nn.utils.weight_norm(model, name=name)
    assert sum(isinstance(p, nn.Parameter) for p in model._flat_weights) == n_params - 1
    model = torch.nn.utils.remove_weight_norm(model, name=name)
    assert sum(isinstance(p, nn.Parameter) for p in model._flat_weights) == n_params
    assert name in model._parameters
    assert name + "_g" not in model._parameters and name + "_v" not in model._parameters
    assert name in dict(model.named_parameters())


@pytest.mark.parametrize("cls", CLASSES)
def test_LSTM_steps_with_the_state_fed_back(cls):
    """test_nn.py's LSTMCell smoke test, for the layer: six one-step calls, the state fed back, then backward."""
    for bias in (True, False):
        x = torch.randn(1, 3, 10)
        hx, cx = torch.randn(1, 3, 20), torch.randn(1, 3, 20)
        model = cls(10, 20, bias=bias)
        for _ in range(6):
            _, (hx, cx) = model(x, (hx, cx))
        (hx + cx).sum().backward()


# ModuleInfo's samples for nn.LSTM (module_inputs_torch_nn_LSTM): unbatched input, with and without (h0, c0),
# checked against the batch-of-one reference (no_batch_dim_reference_lstm); plus what TestModule checks of them.
MODULE_SAMPLES = [
    dict(bias=b, batch_first=bf, bidirectional=bi, proj_size=p, with_hx=hx)
    for b, bf, bi, p, hx in itertools.product((False, True), (False, True), (False, True), (0, 2), (False, True))
]


def _sample(case, requires_grad=False):
    kwargs = {k: v for k, v in case.items() if k != "with_hx"}
    D = 2 if case["bidirectional"] else 1
    g = torch.Generator().manual_seed(5)
    x = torch.randn(3 if case["with_hx"] else 2, 2, generator=g).requires_grad_(requires_grad)
    hx = None
    if case["with_hx"]:
        hx = (
            torch.randn(2 * D, case["proj_size"] or 3, generator=g).requires_grad_(requires_grad),
            torch.randn(2 * D, 3, generator=g).requires_grad_(requires_grad),
        )
    return dict(input_size=2, hidden_size=3, num_layers=2, **kwargs), x, hx


def _no_batch_dim_reference(model, x, hx, batch_first):
    batch_dim = 0 if batch_first else 1
    hx = None if hx is None else (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
    out, (h, c) = model(x.unsqueeze(batch_dim), hx)
    return out.squeeze(batch_dim), (h.squeeze(1), c.squeeze(1))


@pytest.mark.parametrize("case", MODULE_SAMPLES, ids=lambda c: "-".join(f"{k}={int(v)}" for k, v in c.items()))
def test_module_info_samples(case):
    kwargs, x, hx = _sample(case)
    ref, twin = _twins(**kwargs)
    results = []
    for model in (ref, twin):
        out, (h, c) = model(x, hx)
        expected = _no_batch_dim_reference(model, x, hx, case["batch_first"])
        assert torch.allclose(out, expected[0], atol=1e-6) and torch.allclose(h, expected[1][0], atol=1e-6)
        assert torch.allclose(c, expected[1][1], atol=1e-6)
        results.append((out, h, c))
    for a, b in zip(*results, strict=True):
        assert torch.equal(a, b)
    rec = twin.record(x, hx)
    assert torch.allclose(rec.output, results[1][0], atol=1e-6) and torch.allclose(rec.h_n, results[1][1], atol=1e-6)


@pytest.mark.parametrize("case", MODULE_SAMPLES[::3], ids=lambda c: "-".join(f"{k}={int(v)}" for k, v in c.items()))
def test_module_info_gradients(case):
    kwargs, _, _ = _sample(case)
    ref, twin = _twins(**kwargs)
    grads = []
    for model in (ref, twin):
        _, x, hx = _sample(case, requires_grad=True)
        out, (h, c) = model(x, hx)
        (out.sum() + h.pow(2).sum() + c.sum()).backward()
        grads.append([x.grad] + ([t.grad for t in hx] if hx else []) + [p.grad for p in model.parameters()])
    for a, b in zip(*grads, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_gradcheck_in_float64():
    twin = RecordingLSTM(2, 3, 2, bidirectional=True, proj_size=2, dtype=torch.float64)
    x = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: twin(inp)[0], (x,))
    assert torch.autograd.gradgradcheck(lambda inp: twin(inp)[0].sum(), (x,))


def test_module_info_pickle_copy_repr_factory_kwargs_and_to():
    ref, twin = _twins(2, 3, 2, proj_size=2, bidirectional=True)
    x = torch.randn(4, 2)
    for clone in (pickle.loads(pickle.dumps(twin)), copy.deepcopy(twin)):
        assert type(clone) is RecordingLSTM and torch.equal(clone(x)[0], twin(x)[0])
        assert torch.allclose(clone.record(x).output, twin(x)[0], atol=1e-6)
    assert repr(twin).replace("RecordingLSTM", "LSTM") == repr(ref)
    meta = RecordingLSTM(2, 3, device="meta", dtype=torch.float64)
    assert all(p.device.type == "meta" and p.dtype == torch.float64 for p in meta.parameters())
    buffer = io.BytesIO()
    torch.save(twin.state_dict(), buffer)
    buffer.seek(0)
    back = nn.LSTM(2, 3, 2, proj_size=2, bidirectional=True)
    back.load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(back(x)[0], twin(x)[0])
    double = copy.deepcopy(twin).to(torch.float64)
    assert double.record(x.double()).f.dtype == torch.float64
    empty = copy.deepcopy(twin).to_empty(device="cpu")
    assert all(p.shape == q.shape for p, q in zip(empty.parameters(), twin.parameters(), strict=True))


def test_module_info_train_and_eval_differ_with_dropout():
    ref, twin = _twins(2, 3, 2, dropout=0.5)
    x = torch.randn(5, 4, 2)
    for model in (ref, twin):
        model.train()
        torch.manual_seed(3)
        a = model(x)[0]
        torch.manual_seed(3)
        b = model(x)[0]
        model.eval()
        assert torch.equal(a, b) and not torch.allclose(a, model(x)[0])


def test_module_info_non_contiguous_inputs():
    ref, twin = _twins(2, 3, 2, batch_first=True)
    x = torch.randn(5, 4, 2).transpose(0, 1)  # (4, 5, 2), not contiguous
    hx = (torch.randn(2, 3, 4).transpose(1, 2), torch.randn(2, 4, 3))
    assert not x.is_contiguous() and not hx[0].is_contiguous()
    assert torch.equal(ref(x, hx)[0], twin(x, hx)[0])
    assert torch.allclose(twin.record(x, hx).output, twin(x, hx)[0], atol=1e-6)


@pytest.mark.parametrize("how", ["weight_norm", "parametrized weight_norm", "spectral_norm", "prune"])
def test_from_lstm_takes_a_weight_normed_or_pruned_lstm_and_holds_the_weights_its_forward_uses(how):
    from torch.nn.utils import parametrizations, prune, spectral_norm, weight_norm

    torch.manual_seed(0)
    make = {
        "weight_norm": lambda m: weight_norm(m, "weight_hh_l0"),
        "parametrized weight_norm": lambda m: parametrizations.weight_norm(m, "weight_hh_l0"),
        "spectral_norm": lambda m: spectral_norm(m, "weight_hh_l0"),
        "prune": lambda m: prune.l1_unstructured(m, "weight_hh_l0", amount=0.5),
    }[how]
    lstm = make(nn.LSTM(3, 4, num_layers=2)).eval()
    x = torch.randn(5, 2, 3)
    with torch.no_grad():
        expected, _ = lstm(x)
        twin = RecordingLSTM.from_lstm(lstm)
        assert [n for n, _ in twin.named_parameters()] == twin._flat_weights_names  # a plain RecordingLSTM
        assert torch.allclose(twin(x)[0], expected, atol=1e-6)
