"""Job specs: a TOML file a user keeps in git, describing one job or a grid of them (a sweep).

::

    model = "open-mistral-7b"
    suffix = "support-v1"
    auto_start = true                 # false: leave the job VALIDATED for `tuner jobs start`
    training_files = [{ path = "data/train.jsonl", weight = 1.0 }]   # or { file_id = "..." }
    validation_files = ["data/eval.jsonl"]
    [hyperparameters]
    training_steps = 100              # or epochs = 3
    learning_rate = 1e-4
    [integrations.wandb]              # the key comes from WANDB_API_KEY, never from the file
    project = "support-bot"
    [sweep]                           # one job per combination
    learning_rate = [1e-4, 5e-5]
    training_steps = [100, 200]

An OpenAI job names its provider; it takes exactly one training file (no weights), at most one
validation file, and OpenAI's own hyperparameter names, each "auto" or a number::

    provider = "openai"
    model = "gpt-4.1-mini-2025-04-14"
    suffix = "support-v1"
    seed = 7                          # optional
    method = "supervised"             # or "dpo" (preference data)
    training_files = ["data/train.jsonl"]
    validation_files = ["data/eval.jsonl"]
    [hyperparameters]
    n_epochs = 3                      # "auto" (OpenAI picks) or a number
    batch_size = "auto"
    learning_rate_multiplier = 1.8
    # beta = 0.1                      # dpo only

Fields of one provider are refused in the other's spec with a message naming them (Mistral's
weights, classifier targets, W&B integration, ``invalid_sample_skip_percentage`` and
``auto_start = false``; OpenAI's ``seed`` and ``method``): dropping them silently would change
what gets trained.

A classifier job (Mistral's classifier fine-tuning) says so and names its targets::

    model = "ministral-3b-latest"
    job_type = "classifier"
    [[classifier_targets]]
    name = "sentiment"
    labels = ["positive", "negative", "neutral"]   # left out: the labels found in the data
    weight = 1.0
    loss_function = "single_class"                  # left out: multi_class when the data
                                                    # gives the target lists of labels

Paths are relative to the spec file. Hyperparameters are checked with the API client's own
request model (``tuner.api.TrainingParameters``), so a spec that loads is one the API's limits
accept. A sweep expands, in the order its keys are written, into jobs whose suffixes are derived
from the spec's (``support-v1-01``, ``support-v1-02``, …): unique and at most 18 characters,
because the API caps suffixes there and crash recovery finds jobs by model and suffix.
"""

from __future__ import annotations

import itertools
import math
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from tuner.api.openai.params import HYPERPARAMETERS as OPENAI_HYPERPARAMETERS
from tuner.api.openai.params import OpenAIJobCreate
from tuner.api.params import (
    SUFFIX_MAX_LENGTH,
    ClassifierTarget,
    JobCreate,
    TrainingFile,
    TrainingParameters,
    WandbIntegration,
    suffix_problem,
)

HYPERPARAMETERS: tuple[str, ...] = tuple(TrainingParameters.model_fields)
MAX_SWEEP_MEMBERS = 256
"""A bigger grid is almost surely a typo, and each member is a billed job."""
DEFAULT_SWEEP_SUFFIX = "sweep"

Scalar = int | float | str | bool
Provider = Literal["mistral", "openai"]
PROVIDERS: tuple[str, ...] = ("mistral", "openai")
OpenAIMethod = Literal["supervised", "dpo"]
OPENAI_SWEEPABLE: tuple[str, ...] = tuple(OPENAI_HYPERPARAMETERS["dpo"])
_OPENAI_PLACEHOLDER_FILE = "file-placeholder"
"""Stands in for the training file when only the hyperparameters are being checked."""


class SpecError(ValueError):
    """A job spec that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileRef(_Strict):
    """A local file (``path``, uploaded once) or one already on the server (``file_id``)."""

    path: Path | None = None
    file_id: Annotated[str, Field(min_length=1)] | None = None
    weight: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FileRef:
        if (self.path is None) == (self.file_id is None):
            raise ValueError("give either path or file_id")
        return self


class WandbSpec(_Strict):
    project: Annotated[str, Field(min_length=1)]
    name: str | None = None
    run_name: str | None = None


class Integrations(_Strict):
    wandb: WandbSpec | None = None


LossFunction = Literal["single_class", "multi_class"]


class TargetSpec(_Strict):
    """One ``[[classifier_targets]]`` table: labels and loss function may come from the data."""

    name: Annotated[str, Field(min_length=1)]
    labels: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] | None = None
    weight: Annotated[float, Field(ge=0)] | None = None
    loss_function: LossFunction | None = None

    def describe(self) -> dict[str, Any]:
        """The target as shown by ``jobs show`` before it is sent (None: from the data)."""
        return self.model_dump(mode="json")


class JobSpec(_Strict):
    """One job to create: what a spec file says, with a sweep member's values applied."""

    provider: Provider = "mistral"
    model: Annotated[str, Field(min_length=1)]
    job_type: Literal["completion", "classifier"] = "completion"
    classifier_targets: list[TargetSpec] = Field(default_factory=list)
    suffix: str | None = None
    auto_start: bool = True
    training_files: Annotated[list[FileRef], Field(min_length=1)]
    validation_files: list[FileRef] = Field(default_factory=list)
    hyperparameters: dict[str, Scalar] = Field(default_factory=dict)
    integrations: Integrations = Field(default_factory=Integrations)
    invalid_sample_skip_percentage: Annotated[float, Field(ge=0, le=0.5)] | None = None
    seed: int | None = None
    """OpenAI only: the training seed."""
    method: OpenAIMethod | None = None
    """OpenAI only: ``supervised`` (the default) or ``dpo``."""
    sweep_values: dict[str, Scalar] = Field(default_factory=dict)
    """For a sweep member, the values the grid gave it (empty for a plain spec)."""
    member_index: int | None = None
    """For a sweep member, its 0-based position in the grid."""

    @field_validator("suffix")
    @classmethod
    def _suffix(cls, value: str | None) -> str | None:
        # Mistral's rule (at most 18 characters, a safe alphabet) for both providers: OpenAI
        # allows 64, but a spec that moves between providers should not have to change.
        problem = suffix_problem(value) if value is not None else None
        if problem is not None:
            raise ValueError(problem)
        return value or None

    @field_validator("validation_files")
    @classmethod
    def _no_weights(cls, value: list[FileRef]) -> list[FileRef]:
        if any(ref.weight is not None for ref in value):
            raise ValueError("validation files take no weight")
        return value

    @model_validator(mode="after")
    def _provider_fields(self) -> JobSpec:
        problems = _foreign_fields(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _hyperparameters(self) -> JobSpec:
        if self.is_openai:
            check_openai_hyperparameters(self.hyperparameters, self.openai_method)
        else:
            check_hyperparameters(self.hyperparameters)
        return self

    @model_validator(mode="after")
    def _targets(self) -> JobSpec:
        names = [t.name for t in self.classifier_targets]
        if self.job_type == "classifier":
            if not names:
                raise ValueError(
                    "classifier_targets: a classifier job needs at least one [[classifier_targets]]"
                )
            if len(set(names)) != len(names):
                raise ValueError("classifier_targets: target names repeat")
            if "fim_ratio" in self.hyperparameters:
                raise ValueError("hyperparameters.fim_ratio: not a classifier training parameter")
        elif names:
            raise ValueError('classifier_targets: only for job_type = "classifier"')
        return self

    @property
    def is_classifier(self) -> bool:
        return self.job_type == "classifier"

    @property
    def is_openai(self) -> bool:
        return self.provider == "openai"

    @property
    def openai_method(self) -> OpenAIMethod:
        return self.method or "supervised"

    @property
    def n_epochs(self) -> int | None:
        """OpenAI's epochs when the spec fixes them (None: "auto" or not given)."""
        value = self.hyperparameters.get("n_epochs")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def to_openai_create(
        self, file_ids: Mapping[Path, str], *, metadata: Mapping[str, str] | None = None
    ) -> OpenAIJobCreate:
        """The OpenAI request, with local paths replaced by their uploaded ``file_ids``.
        Raises ``SpecError`` for a missing file id or a spec that is not an OpenAI one."""
        if not self.is_openai:
            raise SpecError('not an OpenAI spec (provider = "openai")')
        try:
            return OpenAIJobCreate(
                model=self.model,
                training_file=_file_id(self.training_files[0], file_ids),
                validation_file=_file_id(self.validation_files[0], file_ids)
                if self.validation_files
                else None,
                suffix=self.suffix,
                seed=self.seed,
                method=self.openai_method,
                hyperparameters=dict(self.hyperparameters),
                metadata=metadata,
            )
        except ValueError as exc:
            if isinstance(exc, SpecError):
                raise
            raise SpecError(str(exc)) from None

    def label_sets(self) -> dict[str, list[str]]:
        """The labels the spec states, per target (targets without labels take the data's)."""
        return {t.name: list(t.labels) for t in self.classifier_targets if t.labels}

    def resolved_targets(self) -> list[ClassifierTarget]:
        """The targets as sent: labels and loss functions left out are taken from the local
        training files (all labels seen; ``multi_class`` when the data lists labels).

        Raises ``SpecError`` when something must come from data that is not local.
        """
        from tuner.datasets.classifier import TargetStats, label_stats

        found: dict[str, TargetStats] = {}
        if any(t.labels is None or t.loss_function is None for t in self.classifier_targets):
            for path in self.training_paths():
                for name, stats in label_stats(path).items():
                    merged = found.setdefault(name, TargetStats(name))
                    merged.multi = merged.multi or stats.multi
                    merged.counts.update(stats.counts)
        targets = []
        for target in self.classifier_targets:
            seen = found.get(target.name)
            if (target.labels is None or target.loss_function is None) and seen is None:
                raise SpecError(
                    f"classifier_targets {target.name!r}: give its labels and loss_function; "
                    "no local training file labels this target"
                )
            fields: dict[str, Any] = {
                "name": target.name,
                "labels": target.labels or sorted(seen.counts if seen else ()),
                "loss_function": target.loss_function
                or ("multi_class" if seen and seen.multi else "single_class"),
            }
            if target.weight is not None:
                fields["weight"] = target.weight
            targets.append(ClassifierTarget(**fields))
        return targets

    @property
    def training_steps(self) -> int | None:
        value = self.hyperparameters.get("training_steps")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def epochs(self) -> float | None:
        value = self.hyperparameters.get("epochs")
        return float(value) if isinstance(value, int | float) else None

    def local_paths(self) -> list[Path]:
        """Every local file of the job, training files first, each once."""
        refs = [*self.training_files, *self.validation_files]
        return list(dict.fromkeys(ref.path for ref in refs if ref.path is not None))

    def training_paths(self) -> list[Path]:
        return [ref.path for ref in self.training_files if ref.path is not None]

    def validation_paths(self) -> list[Path]:
        return [ref.path for ref in self.validation_files if ref.path is not None]

    def to_job_create(
        self, file_ids: Mapping[Path, str], *, wandb_key: SecretStr | None = None
    ) -> JobCreate:
        """The API request, with local paths replaced by their uploaded ``file_ids``.

        Always ``auto_start=False``: the job is started once its cost is known and agreed to.
        Raises ``SpecError`` for a missing file id or a W&B integration without a key.
        """
        if self.is_openai:
            raise SpecError("an OpenAI spec: its request is to_openai_create's")
        body: dict[str, Any] = {
            "model": self.model,
            "hyperparameters": check_hyperparameters(self.hyperparameters),
            "training_files": [_training_file(ref, file_ids) for ref in self.training_files],
            "auto_start": False,
        }
        if self.validation_files:
            body["validation_files"] = [_file_id(ref, file_ids) for ref in self.validation_files]
        if self.suffix:
            body["suffix"] = self.suffix
        if self.invalid_sample_skip_percentage is not None:
            body["invalid_sample_skip_percentage"] = self.invalid_sample_skip_percentage
        if self.is_classifier:
            body["job_type"] = "classifier"
            body["classifier_targets"] = self.resolved_targets()
        wandb = self.integrations.wandb
        if wandb is not None:
            body["integrations"] = [_wandb(wandb, wandb_key)]
        return JobCreate(**body)


class SpecFile(_Strict):
    """A parsed spec file: the job, and the sweep grid when there is one."""

    source: str
    """Where the spec came from (its path), for messages."""
    job: JobSpec
    sweep: dict[str, list[Scalar]] = Field(default_factory=dict)

    @property
    def is_sweep(self) -> bool:
        return bool(self.sweep)

    def members(self) -> list[JobSpec]:
        """The jobs to create: the spec itself, or one per combination of the sweep grid."""
        return expand(self)


def check_openai_hyperparameters(
    values: Mapping[str, object], method: OpenAIMethod = "supervised"
) -> dict[str, object]:
    """``values`` checked by the OpenAI request itself (names of ``method``, each "auto" or a
    positive number); ``ValueError`` with one line per problem."""
    try:
        OpenAIJobCreate(
            model="check",
            training_file=_OPENAI_PLACEHOLDER_FILE,
            method=method,
            hyperparameters=dict(values),
        )
    except ValueError as exc:
        raise ValueError(f"hyperparameters: {exc}") from None
    return dict(values)


def check_hyperparameters(values: Mapping[str, object]) -> TrainingParameters:
    """``values`` as the API's training parameters; ``ValueError`` with one line per problem."""
    if "training_steps" in values and "epochs" in values:
        raise ValueError("give training_steps or epochs, not both")
    try:
        return TrainingParameters(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ValueError(_describe(exc, prefix="hyperparameters")) from None


def load_spec(path: str | os.PathLike[str]) -> SpecFile:
    """Read and check a spec file; every problem is a ``SpecError`` naming file and field."""
    source = Path(path)
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{source}: no such job spec") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{source}: cannot read the job spec: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{source}: not valid TOML: {exc}") from None
    return parse_spec(data, base_dir=source.parent, source=str(source))


def parse_spec(data: Mapping[str, Any], *, base_dir: Path, source: str = "<spec>") -> SpecFile:
    """Check spec data (as read from TOML); relative paths are taken from ``base_dir``."""
    raw = dict(data)
    sweep = raw.pop("sweep", {})
    if not isinstance(sweep, dict):
        raise SpecError(f"{source}: [sweep] must be a table of lists")
    raw["training_files"] = _file_refs(raw.get("training_files"), base_dir)
    raw["validation_files"] = _file_refs(raw.get("validation_files", []), base_dir)
    try:
        job = JobSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(f"{source}: {_describe(exc)}") from None
    grid = _check_sweep(sweep, source, OPENAI_SWEEPABLE if job.is_openai else HYPERPARAMETERS)
    spec = SpecFile(source=source, job=job, sweep=grid)
    expand(spec)  # every member must be a valid job before anything is used
    return spec


def expand(spec: SpecFile) -> list[JobSpec]:
    """One job per combination of the sweep grid (keys in the order written), or the job."""
    if not spec.sweep:
        return [spec.job]
    names = list(spec.sweep)
    combos = list(itertools.product(*(spec.sweep[name] for name in names)))
    members = []
    for index, combo in enumerate(combos):
        values = dict(zip(names, combo, strict=True))
        hyper = {**spec.job.hyperparameters, **values}
        # A member sweeping epochs over a base with training_steps (or the reverse) takes the
        # sweep's: the two are alternatives, and the grid is what the user is varying.
        if "epochs" in values and "training_steps" not in values:
            hyper.pop("training_steps", None)
        if "training_steps" in values and "epochs" not in values:
            hyper.pop("epochs", None)
        suffix = derive_suffix(spec.job.suffix, index, len(combos))
        try:
            members.append(
                spec.job.model_copy(
                    update={
                        "hyperparameters": _checked(spec.job, hyper),
                        "suffix": suffix,
                        "sweep_values": values,
                        "member_index": index,
                    }
                )
            )
        except ValueError as exc:
            raise SpecError(f"{spec.source}: sweep member {index + 1} ({values}): {exc}") from None
    return members


def _checked(job: JobSpec, hyper: Mapping[str, Scalar]) -> dict[str, Any]:
    """A sweep member's hyperparameters, checked for the job's provider."""
    if job.is_openai:
        return check_openai_hyperparameters(hyper, job.openai_method)
    return dict(check_hyperparameters(hyper).to_body())


def derive_suffix(base: str | None, index: int, count: int) -> str:
    """The suffix of member ``index`` (0-based) of ``count``: ``base-01``, at most 18 chars.

    The number is 1-based and zero-padded to the width of ``count``, so suffixes sort in grid
    order; the base is shortened, never the number, so suffixes stay unique.
    """
    if not 0 <= index < count:
        raise ValueError(f"member {index} is outside a sweep of {count}")
    tag = f"-{index + 1:0{len(str(count))}d}"
    stem = (base or DEFAULT_SWEEP_SUFFIX)[: SUFFIX_MAX_LENGTH - len(tag)].rstrip("-_.")
    return f"{stem or DEFAULT_SWEEP_SUFFIX[: SUFFIX_MAX_LENGTH - len(tag)]}{tag}"


# -- helpers ------------------------------------------------------------------------------------

_MISTRAL_ONLY = "a Mistral field; OpenAI has no such setting"
_OPENAI_ONLY = 'an OpenAI field; set provider = "openai" or remove it'


def _foreign_fields(job: JobSpec) -> list[str]:
    """The fields the job's provider does not take, each with why (see the module doc)."""
    if not job.is_openai:
        found = []
        if job.seed is not None:
            found.append(f"seed: {_OPENAI_ONLY}")
        if job.method is not None:
            found.append(f"method: {_OPENAI_ONLY}")
        theirs = [name for name in job.hyperparameters if name in OPENAI_SWEEPABLE]
        found += [f"hyperparameters.{name}: {_OPENAI_ONLY}" for name in theirs]
        return found
    found = []
    if len(job.training_files) != 1:
        found.append(
            f"training_files: OpenAI takes exactly one training file, not "
            f"{len(job.training_files)} (merge them into one file first)"
        )
    if any(ref.weight is not None for ref in job.training_files):
        found.append("training_files: OpenAI takes no weights")
    if len(job.validation_files) > 1:
        found.append("validation_files: OpenAI takes at most one validation file")
    if job.job_type != "completion" or job.classifier_targets:
        found.append(f"job_type/classifier_targets: {_MISTRAL_ONLY} (classifier fine-tuning)")
    if job.integrations.wandb is not None:
        found.append(f"integrations.wandb: {_MISTRAL_ONLY} in tuner yet (not sent to OpenAI)")
    if job.invalid_sample_skip_percentage is not None:
        found.append(f"invalid_sample_skip_percentage: {_MISTRAL_ONLY}")
    if not job.auto_start:
        found.append(
            "auto_start = false: creating an OpenAI job starts it, so there is nothing to hold "
            "it at; use --dry-run to see the estimate first (docs/openai.md)"
        )
    return found


def _file_refs(value: object, base_dir: Path) -> object:
    """Plain strings are paths; every path is made absolute against the spec's folder."""
    if not isinstance(value, list):
        return value
    refs: list[object] = []
    for item in value:
        entry: object = {"path": item} if isinstance(item, str) else item
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            entry = {**entry, "path": _resolve(base_dir, entry["path"])}
        refs.append(entry)
    return refs


def _resolve(base_dir: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else (base_dir / path).absolute()


def _check_sweep(
    sweep: Mapping[str, object], source: str, sweepable: tuple[str, ...]
) -> dict[str, list[Scalar]]:
    grid: dict[str, list[Scalar]] = {}
    for name, values in sweep.items():
        if name not in sweepable:
            raise SpecError(
                f"{source}: sweep.{name}: not a hyperparameter; sweepable: {', '.join(sweepable)}"
            )
        if not isinstance(values, list) or not values:
            raise SpecError(f"{source}: sweep.{name}: give a non-empty list of values")
        if len(set(map(repr, values))) != len(values):
            raise SpecError(f"{source}: sweep.{name}: values repeat")
        grid[name] = list(values)
    size = math.prod(len(values) for values in grid.values()) if grid else 0
    if size > MAX_SWEEP_MEMBERS:
        raise SpecError(
            f"{source}: the sweep makes {size} jobs; at most {MAX_SWEEP_MEMBERS} are allowed"
        )
    return grid


def _file_id(ref: FileRef, file_ids: Mapping[Path, str]) -> str:
    if ref.file_id is not None:
        return ref.file_id
    assert ref.path is not None  # FileRef holds exactly one of the two
    try:
        return file_ids[ref.path]
    except KeyError:
        raise SpecError(f"{ref.path} has not been uploaded") from None


def _training_file(ref: FileRef, file_ids: Mapping[Path, str]) -> TrainingFile:
    file_id = _file_id(ref, file_ids)
    if ref.weight is None:
        return TrainingFile(file_id=file_id)
    return TrainingFile(file_id=file_id, weight=ref.weight)


def _wandb(spec: WandbSpec, key: SecretStr | None) -> WandbIntegration:
    if key is None:
        raise SpecError("integrations.wandb needs a W&B key: set WANDB_API_KEY")
    fields: dict[str, Any] = {"project": spec.project, "api_key": key}
    if spec.name is not None:
        fields["name"] = spec.name
    if spec.run_name is not None:
        fields["run_name"] = spec.run_name
    return WandbIntegration(**fields)


def _describe(exc: ValidationError, prefix: str = "") -> str:
    """One clause per field; of a union's branches only the first real complaint is kept."""
    seen: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        parts = [str(p) for p in error["loc"] if not _is_branch(p)]
        where = ".".join([prefix, *parts] if prefix else parts)
        if where in seen or error["type"] in ("is_instance_of", "none_required"):
            continue
        seen[where] = str(error["msg"]).removeprefix("Value error, ")
    # A whole-spec complaint (empty location) already names its fields.
    return "; ".join(f"{where}: {msg}" if where else msg for where, msg in seen.items())


def _is_branch(part: object) -> bool:
    # Union branches show up in locations as "constrained-float", "is-instance[NotGiven]", …
    return isinstance(part, str) and ("[" in part or part.startswith("constrained-"))
