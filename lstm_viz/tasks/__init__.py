"""Tasks: what a model learns (data, model factory, metrics); one subpackage or module per task."""
