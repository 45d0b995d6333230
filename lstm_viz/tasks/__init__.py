"""Tasks: one object per task (data, model config and factory, parsing, answer, loss and metrics, presets),
looked up by ``task_for(config)`` or ``get_task(name)``. Everything task-specific lives here.
"""
