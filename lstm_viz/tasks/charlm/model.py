"""CharLM: the next-character model Embedding → RecordingLSTM → Linear, and its config dataclass."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.torch_version import TorchVersion

from lstm_viz import Recording, RecordingLSTM
from lstm_viz.tasks.charlm.data import VOCAB_SIZE

__all__ = ["CharLM", "CharLMConfig", "load_charlm"]


@dataclass(frozen=True)
class CharLMConfig:
    """Everything that shapes a CharLM; stored with the weights (``asdict``) so a checkpoint rebuilds its model."""

    vocab_size: int = VOCAB_SIZE
    embed_size: int = 64
    hidden_size: int = 512
    num_layers: int = 2
    proj_size: int = 0
    dropout: float = 0.0
    forget_bias: float | None = None  # at init: the forget gate's bias (b_if + b_hf); None keeps PyTorch's init

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> CharLMConfig:
        return cls(**values)


class CharLM(nn.Module):
    """x (batch, T) token ids → logits (batch, T, vocab) for the next character; state (h, c) in and out."""

    def __init__(self, config: CharLMConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_size)
        self.lstm = RecordingLSTM(
            config.embed_size,
            config.hidden_size,
            num_layers=config.num_layers,
            batch_first=True,
            dropout=config.dropout,
            proj_size=config.proj_size,
        )
        self.fc = nn.Linear(config.proj_size or config.hidden_size, config.vocab_size)
        if config.forget_bias is not None:
            H = config.hidden_size
            with torch.no_grad():
                for k in range(config.num_layers):
                    getattr(self.lstm, f"bias_ih_l{k}")[H : 2 * H] = config.forget_bias  # storage order i, f, g, o
                    getattr(self.lstm, f"bias_hh_l{k}")[H : 2 * H] = 0.0

    def forward(self, x: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """``(logits (B, T, V), (h_n, c_n))``; pass ``(h_n, c_n)`` back in to go on where the text left off."""
        h, state = self.lstm(self.embed(x), hx)  # h: (B, T, proj_size or hidden_size)
        return self.fc(h), state

    def forward_layers(
        self, x: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor], list[Tensor]]:
        """:meth:`forward`, one layer at a time, with every layer's output h ``(B, T, size of h)`` as a third
        value (what an activation penalty acts on). The same math as the stacked call, dropout between layers
        included; on the CPU the same numbers."""
        lstm = self.lstm
        inp = self.embed(x)
        if hx is None:
            B = inp.shape[0]
            h0 = inp.new_zeros(lstm.num_layers, B, lstm.proj_size or lstm.hidden_size)
            c0 = inp.new_zeros(lstm.num_layers, B, lstm.hidden_size)
        else:
            h0, c0 = hx
        per_layer = len(lstm._flat_weights) // lstm.num_layers  # w_ih, w_hh[, b_ih, b_hh][, w_hr]
        outputs, h_n, c_n = [], [], []
        for k in range(lstm.num_layers):
            if k and lstm.dropout and self.training:
                inp = F.dropout(inp, lstm.dropout, training=True)
            weights = lstm._flat_weights[k * per_layer : (k + 1) * per_layer]
            out, h_k, c_k = torch._VF.lstm(inp, (h0[k : k + 1], c0[k : k + 1]), weights, lstm.bias, 1, 0.0,
                                           self.training, False, True)  # fmt: skip
            outputs.append(out)
            h_n.append(h_k)
            c_n.append(c_k)
            inp = out
        return self.fc(inp), (torch.cat(h_n), torch.cat(c_n)), outputs

    @torch.no_grad()
    def record(self, x: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> Recording:
        """Every gate and state of the LSTM for token ids ``x`` ((B, T) or (T,)): ``RecordingLSTM.record``."""
        return self.lstm.record(self.embed(x), hx)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def load_charlm(checkpoint: str | dict, map_location: str = "cpu") -> CharLM:
    """A CharLM from a checkpoint written by ``python -m lstm_viz.tasks.charlm.train --out`` (path or its dict).

    A path is read with ``torch.load(weights_only=True)``: such a file holds only tensors and plain values (its
    ``torch_version`` is the one other class allowed), and a file that holds anything else is refused
    (``pickle.UnpicklingError``) instead of running what its pickle asks for."""
    if not isinstance(checkpoint, dict):
        with torch.serialization.safe_globals([TorchVersion]):
            checkpoint = torch.load(checkpoint, map_location=map_location, weights_only=True)
    model = CharLM(CharLMConfig.from_dict(checkpoint["config"]))
    model.load_state_dict(checkpoint["state_dict"], strict=True)
    return model.eval()
