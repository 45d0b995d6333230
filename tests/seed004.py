"""Post 4's script as the post writes it (data, Dataset, model): the reference that the tests and
benchmarks/bench_training.py compare lstm-viz against. Kept verbatim in substance on purpose; do not "improve" it."""

import random

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

SEED = 822


def requires_borrow(a, b):
    """檢查 a - b 是否會需要退位(borrow)"""
    a_str = str(a)[::-1]
    b_str = str(b)[::-1]
    for i in range(len(b_str)):
        a_digit = int(a_str[i]) if i < len(a_str) else 0
        b_digit = int(b_str[i])
        if a_digit < b_digit:
            return True
    return False


class BinarySubtractionDataset(Dataset):
    def __init__(self, data):
        self.samples = []
        for a, b, c in data:
            x = np.array(list(zip(a[::-1], b[::-1], strict=True)), dtype=np.float32)  # time_steps x input_dim
            y = c[::-1].astype(np.float32)  # 目標也反轉(低位在前)
            self.samples.append((x, y))

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, idx):
        x, y = self.samples[idx]
        return torch.tensor(x), torch.tensor(y)


class LSTMSubtractor(nn.Module):
    def __init__(self, input_size=2, hidden_size=32, output_size=1):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        lstm_out, _ = self.lstm(x)  # output: (batch, seq_len, hidden)
        out = self.fc(lstm_out)  # (batch, seq_len, 1)
        return self.sigmoid(out)  # predict bit 0 or 1


def post_splits():
    """The post's global seeding, its 10,000 borrow pairs and its 90/10 ``random_split`` → (train_set, test_set).

    Leaves the global RNGs where the post's script has them just before ``model = LSTMSubtractor()``.
    """
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    random.seed(SEED)
    binary = np.unpackbits(np.array([range(2**8)], dtype=np.uint8).T, axis=1)
    int2binary = {i: binary[i] for i in range(2**8)}
    data = []
    while len(data) < 10000:
        a_int = np.random.randint(2, 255)  # 最大為 254
        b_int = np.random.randint(1, a_int)  # b < a,且最小是 1
        if not requires_borrow(a_int, b_int):
            continue
        data.append((int2binary[a_int], int2binary[b_int], int2binary[a_int - b_int]))
    dataset = BinarySubtractionDataset(data)
    train_size = int(0.9 * len(dataset))
    test_size = len(dataset) - train_size
    return torch.utils.data.random_split(dataset, [train_size, test_size])
