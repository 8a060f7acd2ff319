"""tuner: validate training data, launch and follow Mistral fine-tuning jobs, evaluate tuned models.

The package is layered (see README, "Architecture"): ``tuner.datasets``, ``tuner.jobs``,
``tuner.evals`` and ``tuner.api`` are the headless core; ``tuner.cli`` and ``tuner.tui`` are entry
points that parse input, call the core and render.
"""

__version__ = "0.1.0"
