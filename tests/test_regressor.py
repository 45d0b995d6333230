"""Regressor task (post 2): the post's sizes and data, predictions from text."""

import pytest
import torch

from lstm_viz.parsing import InputError
from lstm_viz.tasks import regressor


def test_post_sizes_and_data():
    model = regressor.build_regressor(seed=0)
    assert (model.config.input_size, model.config.hidden_size, model.config.num_layers) == (10, 50, 2)
    data = regressor.random_data(generator=torch.Generator().manual_seed(0))
    assert data.x_train.shape == (100, 5, 10) and data.y_train.shape == (100, 1)
    assert model(data.x_train).shape == (100, 1)
    again = regressor.random_data(generator=torch.Generator().manual_seed(0))
    assert torch.equal(data.x_train, again.x_train) and torch.equal(data.y_train, again.y_train)


def test_predict_from_text_matches_tensor():
    model = regressor.build_regressor(regressor.model_config(input_size=2, hidden_size=4, num_layers=1), seed=1)
    out = regressor.predict(model, "0.5, -1; 0, 1; 1 1")
    assert out.shape == (1,)
    assert torch.allclose(out, regressor.predict(model, torch.tensor([[0.5, -1], [0, 1], [1, 1]])))
    assert model.training  # predict restores the mode
    with pytest.raises(InputError, match="expects 2 per step"):
        regressor.predict(model, "1, 2, 3")


def test_options_pass_through():
    config = regressor.model_config(proj_size=20, bidirectional=True, output_size=3)
    model = regressor.build_regressor(config, seed=0)
    assert model(torch.randn(4, 5, 10)).shape == (4, 3)
    assert model.record(torch.randn(1, 5, 10)).h.shape == (2, 2, 1, 5, 20)
