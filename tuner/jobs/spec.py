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
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from tuner.api.params import (
    SUFFIX_MAX_LENGTH,
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


class JobSpec(_Strict):
    """One job to create: what a spec file says, with a sweep member's values applied."""

    model: Annotated[str, Field(min_length=1)]
    suffix: str | None = None
    auto_start: bool = True
    training_files: Annotated[list[FileRef], Field(min_length=1)]
    validation_files: list[FileRef] = Field(default_factory=list)
    hyperparameters: dict[str, Scalar] = Field(default_factory=dict)
    integrations: Integrations = Field(default_factory=Integrations)
    invalid_sample_skip_percentage: Annotated[float, Field(ge=0, le=0.5)] | None = None
    sweep_values: dict[str, Scalar] = Field(default_factory=dict)
    """For a sweep member, the values the grid gave it (empty for a plain spec)."""
    member_index: int | None = None
    """For a sweep member, its 0-based position in the grid."""

    @field_validator("suffix")
    @classmethod
    def _suffix(cls, value: str | None) -> str | None:
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
    def _hyperparameters(self) -> JobSpec:
        check_hyperparameters(self.hyperparameters)
        return self

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
    grid = _check_sweep(sweep, source)
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
                        "hyperparameters": dict(check_hyperparameters(hyper).to_body()),
                        "suffix": suffix,
                        "sweep_values": values,
                        "member_index": index,
                    }
                )
            )
        except ValueError as exc:
            raise SpecError(f"{spec.source}: sweep member {index + 1} ({values}): {exc}") from None
    return members


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


def _check_sweep(sweep: Mapping[str, object], source: str) -> dict[str, list[Scalar]]:
    grid: dict[str, list[Scalar]] = {}
    for name, values in sweep.items():
        if name not in HYPERPARAMETERS:
            raise SpecError(
                f"{source}: sweep.{name}: not a hyperparameter; sweepable: "
                f"{', '.join(HYPERPARAMETERS)}"
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
