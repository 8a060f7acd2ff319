"""OpenAI job statuses onto the ledger's states (the Mistral names the ledger already keeps).

The raw status is never thrown away: a job's snapshot carries both (``provider_status`` and
``status``, see ``FineTuningJob.snapshot``), so a screen can show OpenAI's own word.

======================  ==============  ========================================================
OpenAI                  ledger          why
======================  ==============  ========================================================
``validating_files``    ``VALIDATING``  the files are being checked
``queued``              ``QUEUED``      waiting for capacity (OpenAI's queue comes *after*
                                        validation; Mistral's QUEUED comes before it)
``running``             ``RUNNING``
``pausing``             ``RUNNING``     not terminal, still holding capacity (reference only;
                                        the SDK's type does not list it)
``paused``              ``RUNNING``     not terminal: resumable (same caveat)
``succeeded``           ``SUCCESS``     terminal
``failed``              ``FAILED``      terminal; ``error {code, message, param}`` says why
                                        (data problems are not told apart from others, so
                                        never ``FAILED_VALIDATION``)
``cancelled``           ``CANCELLED``   terminal
anything else           None            unknown: shown raw, treated as not terminal
======================  ==============  ========================================================
"""

from __future__ import annotations

from types import MappingProxyType

LEDGER_STATUS = MappingProxyType(
    {
        "validating_files": "VALIDATING",
        "queued": "QUEUED",
        "running": "RUNNING",
        "pausing": "RUNNING",
        "paused": "RUNNING",
        "succeeded": "SUCCESS",
        "failed": "FAILED",
        "cancelled": "CANCELLED",
    }
)
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


def ledger_status(status: str) -> str | None:
    """The ledger's state for OpenAI's ``status``; None when tuner does not know the status."""
    return LEDGER_STATUS.get(status)


def is_terminal(status: str) -> bool:
    return status in TERMINAL
