"""Character-level LSTM on Python source: corpus and labels, model, TBPTT training and unit scoring."""
