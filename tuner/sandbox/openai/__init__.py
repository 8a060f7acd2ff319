"""The sandbox in OpenAI's dialect (``tuner sandbox serve --provider openai``).

Files, fine-tuning jobs with simulated training (validating_files -> queued -> running ->
succeeded), events with metrics, checkpoints, cancel/pause/resume, failures with
``error {code, message, param}`` and chat completions for tuned models, on OpenAI's paths and
in its shapes. Like the Mistral sandbox it simulates training, persists under ``--data-dir``,
runs on the shared clocks and middleware, and marks every answer ``x-tuner-sandbox: 1``.
"""

from tuner.sandbox.openai.app import create_openai_app
from tuner.sandbox.openai.service import BASE_MODELS, OpenAISandbox

__all__ = ["BASE_MODELS", "OpenAISandbox", "create_openai_app"]
