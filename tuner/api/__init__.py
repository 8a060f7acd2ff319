"""tuner.api: the only code that speaks HTTP (httpx).

A typed async client for the Mistral fine-tuning API (files, jobs, models, chat, embeddings) with
one retry loop, a key pool, auto-paging, SSE streaming and pydantic wire models. See README,
"Architecture".
"""

from tuner.api.client import TunerClient
from tuner.api.errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FileFormatIssue,
    InternalServerError,
    InvalidIdError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from tuner.api.keys import ApiKey, KeyPool, KeyStatus
from tuner.api.multipart import UploadProgress
from tuner.api.pagination import AsyncPager
from tuner.api.params import (
    ClassifierTarget,
    GithubRepository,
    JobCreate,
    ModelUpdate,
    TrainingFile,
    TrainingParameters,
    WandbIntegration,
)
from tuner.api.resources.chat import ChatStream
from tuner.api.resources.files import DownloadProgress
from tuner.api.retry import RetryPolicy
from tuner.api.sentinel import NOT_GIVEN, NotGiven
from tuner.api.transport import Timeouts
from tuner.api.wire import (
    TERMINAL_STATUSES,
    ArchiveResult,
    BaseModelCard,
    ChatCompletion,
    ChatCompletionChunk,
    Checkpoint,
    DeletedFile,
    DeletedModel,
    EmbeddingResponse,
    File,
    FineTunedModel,
    FineTunedModelCard,
    Job,
    JobEvent,
    JobMetadata,
    JobStatus,
    ModelCard,
    ModelList,
    ToolCall,
    UnknownModelCard,
)

__all__ = [
    "NOT_GIVEN",
    "TERMINAL_STATUSES",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "ApiKey",
    "ArchiveResult",
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "BaseModelCard",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatStream",
    "Checkpoint",
    "ClassifierTarget",
    "ConflictError",
    "DeletedFile",
    "DeletedModel",
    "DownloadProgress",
    "EmbeddingResponse",
    "File",
    "FileFormatIssue",
    "FineTunedModel",
    "FineTunedModelCard",
    "GithubRepository",
    "InternalServerError",
    "InvalidIdError",
    "Job",
    "JobCreate",
    "JobEvent",
    "JobMetadata",
    "JobStatus",
    "KeyPool",
    "KeyStatus",
    "ModelCard",
    "ModelList",
    "ModelUpdate",
    "NotFoundError",
    "NotGiven",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RetryPolicy",
    "Timeouts",
    "ToolCall",
    "TrainingFile",
    "TrainingParameters",
    "TunerClient",
    "UnknownModelCard",
    "UnprocessableEntityError",
    "UploadProgress",
    "WandbIntegration",
]
