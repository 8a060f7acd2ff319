"""OpenAI's fine-tuning API: the second provider behind ``tuner.api``.

Files, fine-tuning jobs (cursor-paged listing, events, checkpoints, cancel/pause/resume) and
chat completions over the shared transport. Settings: ``OPENAI_API_KEY`` (and
``TUNER_OPENAI_API_KEYS`` for a pool), ``OPENAI_BASE_URL``, ``OPENAI_ORG_ID``,
``OPENAI_PROJECT_ID``. Statuses map onto the ledger's states in :mod:`.status`.
"""

from tuner.api.openai.client import PROVIDER, OpenAIClient
from tuner.api.openai.params import HYPERPARAMETERS, OpenAIJobCreate
from tuner.api.openai.status import LEDGER_STATUS, is_terminal, ledger_status
from tuner.api.openai.wire import (
    CheckpointMetrics,
    FileDeleted,
    FineTuningJob,
    JobCheckpoint,
    JobError,
    JobEvent,
    OpenAIFile,
)

__all__ = [
    "HYPERPARAMETERS",
    "LEDGER_STATUS",
    "PROVIDER",
    "CheckpointMetrics",
    "FileDeleted",
    "FineTuningJob",
    "JobCheckpoint",
    "JobError",
    "JobEvent",
    "OpenAIClient",
    "OpenAIFile",
    "OpenAIJobCreate",
    "is_terminal",
    "ledger_status",
]
