"""tuner.jobs: job specs and sweeps, the orchestrator, the submission queue, and the ledger.

Names are loaded on first use: ``import tuner.jobs.ledger`` (the daemon, the dashboard) must not
pull in the HTTP client and the tokenizers that the orchestrator needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuner.jobs.orchestrator import (
        CreateResult,
        JobPlan,
        Orchestrator,
        OrchestratorError,
        Plan,
        UploadResult,
        hash_file,
    )
    from tuner.jobs.spec import JobSpec, SpecError, SpecFile, derive_suffix, load_spec
    from tuner.jobs.submit import (
        DEFAULT_MAX_ACTIVE,
        CycleReport,
        Submission,
        SubmissionMeta,
        Submitter,
        drain_queue,
    )

_EXPORTS = {
    "CreateResult": "tuner.jobs.orchestrator",
    "JobPlan": "tuner.jobs.orchestrator",
    "Orchestrator": "tuner.jobs.orchestrator",
    "OrchestratorError": "tuner.jobs.orchestrator",
    "Plan": "tuner.jobs.orchestrator",
    "UploadResult": "tuner.jobs.orchestrator",
    "hash_file": "tuner.jobs.orchestrator",
    "JobSpec": "tuner.jobs.spec",
    "SpecError": "tuner.jobs.spec",
    "SpecFile": "tuner.jobs.spec",
    "derive_suffix": "tuner.jobs.spec",
    "load_spec": "tuner.jobs.spec",
    "DEFAULT_MAX_ACTIVE": "tuner.jobs.submit",
    "CycleReport": "tuner.jobs.submit",
    "Submission": "tuner.jobs.submit",
    "SubmissionMeta": "tuner.jobs.submit",
    "Submitter": "tuner.jobs.submit",
    "drain_queue": "tuner.jobs.submit",
}

__all__ = [
    "DEFAULT_MAX_ACTIVE",
    "CreateResult",
    "CycleReport",
    "JobPlan",
    "JobSpec",
    "Orchestrator",
    "OrchestratorError",
    "Plan",
    "SpecError",
    "SpecFile",
    "Submission",
    "SubmissionMeta",
    "Submitter",
    "UploadResult",
    "derive_suffix",
    "drain_queue",
    "hash_file",
    "load_spec",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tuner.jobs' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
