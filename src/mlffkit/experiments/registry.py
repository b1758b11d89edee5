"""Experiments: one per paper table or figure, each a function ``config -> Result``.

An :class:`Experiment` declares its profiles (``smoke``, ``book``, ``paper``: instances of
its typed config, :class:`~mlffkit.experiments.config.Config`, whose fields say what they
accept with a :class:`Param`), a code version (bumped when its numbers would change) and,
where it reads files, the sha256 of each. :func:`run` resolves a profile plus overrides,
checks every name and value (one clear ``ValueError`` line, before anything is computed or
stored), and computes ``smoke`` directly while ``book`` and ``paper`` go through the results
store, keyed on the config's canonical form (``Config.as_dict``).
"""

from __future__ import annotations

import math
import numbers
import shlex
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping

from mlffkit.experiments.config import Config
from mlffkit.registries import Registry
from mlffkit.results import Result, ResultsStore, record_key

PROFILES = ("smoke", "book", "paper")


@dataclass(frozen=True)
class Param:
    """What one parameter accepts. Checking never changes a value (stored records are keyed
    on the values as given).

    ``kind``: ``int`` (not ``bool``, not ``2.0``), ``float`` (a finite number; an int is
    accepted), ``bool``, ``str``, ``list`` or ``dict``; by default the type of the parameter's
    value in the profiles. ``None`` is accepted where a profile sets it (or with
    ``optional``). ``low``/``high`` bound numbers (open with ``low_open``/``high_open``);
    ``choices`` are the allowed values of a ``str``, or of every item of a ``list`` (a
    non-empty list of distinct items). ``check(value)`` is any further test: it returns what
    is wrong, or None; ``text`` replaces the generated description of what is accepted.
    """

    kind: type | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple = ()
    optional: bool = False
    check: Callable[[Any], str | None] | None = None
    text: str = ""

    def expected(self) -> str:
        """What the parameter accepts, in words: ``"a positive int"``."""
        kind = self.kind
        if self.text:
            text = self.text
        elif kind is bool:
            text = "True or False"
        elif kind is str:
            text = f"one of {_listing(self.choices)}" if self.choices else "a string"
        elif kind is list:
            text = (f"a non-empty list of distinct names from {_listing(self.choices)}"
                    if self.choices else "a list")
        elif kind is dict:
            text = "a dict"
        else:
            noun = "int" if kind is int else "finite number"
            text = f"{'an' if kind is int else 'a'} {noun}"
            if self.low == 0 and self.low_open and self.high is None:
                text = f"a positive {noun}"
            elif self.low is not None and self.high is not None:
                text += (f" in {'(' if self.low_open else '['}{self.low:g}, "
                         f"{self.high:g}{')' if self.high_open else ']'}")
            elif self.low is not None:
                text += f" {'>' if self.low_open else '>='} {self.low:g}"
            elif self.high is not None:
                text += f" {'<' if self.high_open else '<='} {self.high:g}"
        return text + (" or None" if self.optional else "")

    def problem(self, value: Any) -> str | None:
        """None if ``value`` is acceptable, else what is wrong with it (one line)."""
        if value is None:
            return None if self.optional else f"expected {self.expected()}"
        if not _is(value, self.kind):
            return f"expected {self.expected()}"
        if self.kind in (int, float):
            low_ok = self.low is None or (value > self.low if self.low_open
                                          else value >= self.low)
            high_ok = self.high is None or (value < self.high if self.high_open
                                            else value <= self.high)
            if not (low_ok and high_ok):
                return f"expected {self.expected()}"
        if self.choices and self.kind is str and value not in self.choices:
            return f"expected {self.expected()}"
        if self.choices and self.kind is list:
            wrong = [v for v in value if not isinstance(v, str) or v not in self.choices]
            if not value or wrong or len(set(value)) != len(value):
                return f"expected {self.expected()}"
        return self.check(value) if self.check else None


def _is(value: Any, kind: type | None) -> bool:
    if isinstance(value, bool) or kind is bool:
        return isinstance(value, bool) and kind is bool
    if kind is int:
        return isinstance(value, numbers.Integral)
    if kind is float:
        return isinstance(value, numbers.Real) and math.isfinite(value)
    if kind is list:
        return isinstance(value, (list, tuple))
    return isinstance(value, kind)


def _listing(choices: Iterable) -> str:
    return ", ".join(repr(c) for c in choices)


def positive(kind: type | None = None) -> Param:
    """A number > 0 (an int where the profiles have ints)."""
    return Param(kind, low=0, low_open=True)


def at_least(bound: float, kind: type | None = None) -> Param:
    return Param(kind, low=bound)


def between(low: float, high: float, *, low_open: bool = False, high_open: bool = False,
            kind: type | None = None) -> Param:
    return Param(kind, low=low, high=high, low_open=low_open, high_open=high_open)


def one_of(*choices: str) -> Param:
    return Param(str, choices=tuple(choices))


def names_from(choices: Iterable[str]) -> Param:
    """A non-empty list of distinct names, each one of ``choices``."""
    return Param(list, choices=tuple(choices))


#: a random seed (counts and sizes are ``positive()``)
SEED = at_least(0, int)


def _infer(experiment: str, name: str, declared: Param, values: list) -> Param:
    """``declared`` with its kind taken from the profiles' values where not declared, and
    None accepted where a profile sets it."""
    present = [v for v in values if v is not None]
    kind = declared.kind
    if kind is None:
        kinds = {bool if isinstance(v, bool) else int if isinstance(v, numbers.Integral)
                 else float if isinstance(v, numbers.Real)
                 else list if isinstance(v, (list, tuple)) else type(v) for v in present}
        if kinds == {int, float}:
            kinds = {float}
        if len(kinds) != 1:
            raise ValueError(f"{experiment}: declare the kind of parameter {name!r} "
                             f"(profile values {values!r})")
        kind = kinds.pop()
    return replace(declared, kind=kind, optional=declared.optional or len(present) < len(values))


@dataclass(frozen=True)
class Experiment:
    """An experiment: ``compute(config) -> Result`` and its profiles, one instance each of
    the same :class:`Config` class.

    A field declared with a :class:`Param` (``seeds: int = param(positive())``) accepts what
    it says; any other accepts any value of the kind of its profile values.
    ``check(config)``: what is wrong with a combination of values (``n_frames`` too short for
    ``max_T``), or None. The profiles themselves are checked when the experiment is created.
    """

    name: str
    version: str
    compute: Callable[[Config], Result]
    profiles: Mapping[str, Config]
    description: str = ""
    datasets: Callable[[Config], Mapping[str, str]] | None = None
    stored_profiles: tuple[str, ...] = ("book", "paper")
    check: Callable[[Config], str | None] | None = None
    #: for a sweep: its runs as ``(run experiment, profile, run config)``, so that they can be
    #: computed in parallel (``run(..., scheduler=...)``) before the sweep gathers them
    runs: Callable[[Config], list[tuple[str, str, Config]]] | None = None
    #: every parameter's :class:`Param` (the constraints, kinds inferred from the profiles)
    specs: Mapping[str, Param] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if set(self.profiles) != set(PROFILES):
            raise ValueError(f"{self.name}: profiles must be exactly {PROFILES}")
        kinds = {type(p) for p in self.profiles.values()}
        if len(kinds) != 1 or not issubclass(next(iter(kinds)), Config):
            raise ValueError(f"{self.name}: every profile must be an instance of one Config "
                             f"class, got {sorted(k.__name__ for k in kinds)}")
        declared = self.config.specs()
        specs = {n: _infer(self.name, n, declared[n] or Param(),
                           [self.profiles[p][n] for p in PROFILES]) for n in self.parameters}
        object.__setattr__(self, "specs", specs)
        for profile in PROFILES:
            try:
                self.validate(self.profiles[profile])
            except ValueError as err:
                raise ValueError(f"profile {profile!r} of {err}") from None

    @property
    def config(self) -> type[Config]:
        """The experiment's config class."""
        return type(self.profiles["book"])

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(sorted(self.config.field_names()))

    def validate(self, params: Mapping[str, Any]) -> None:
        """Raise a one-line ``ValueError`` naming the experiment, the parameter, its value,
        what it accepts and an example, for the first bad value (checks only: no value is
        changed)."""
        for name in self.parameters:
            value = params[name]
            problem = self.specs[name].problem(value)
            if problem is not None:
                raise ValueError(f"{self.name}: {name}={_short(value)} is invalid: {problem}"
                                 f"{self._hint(name, value)}")
        problem = self.check(params) if self.check else None
        if problem is not None:
            raise ValueError(f"{self.name}: {problem}")

    def _hint(self, name: str, value: Any) -> str:
        spec, example = self.specs[name], self.profiles["book"][name]
        if spec.kind is list and isinstance(value, str):
            return f"; give a list: {name}={[value]!r}"
        if spec.kind is int and isinstance(value, float) and value.is_integer():
            return f"; write {name}={int(value)}"
        if example is not None and len(repr(example)) <= 60:
            return f"; e.g. {name}={example!r}"
        return ""


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


EXPERIMENTS: Registry[Experiment] = Registry("experiment")


def register(experiment: Experiment) -> Experiment:
    EXPERIMENTS.add(experiment.name, experiment)
    return experiment


def names() -> tuple[str, ...]:
    return tuple(sorted(EXPERIMENTS))


def get(name: str) -> Experiment:
    return EXPERIMENTS[name]


def resolve(name: str, profile: str = "book", **overrides: Any) -> Config:
    """The config of ``profile`` with ``overrides`` applied, names and values checked (a bad
    one is a one-line ``ValueError``; values are kept as given)."""
    experiment = get(name)
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; valid: {', '.join(PROFILES)}")
    valid = experiment.profiles[profile].accepted()
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} for {name}; valid: "
                         f"profile, {', '.join(valid)}")
    params = experiment.profiles[profile].replace(**overrides)
    experiment.validate(params)
    return params


def command(name: str, profile: str, params: Mapping[str, Any]) -> str:
    """The shell command that recomputes ``params`` (only the non-default ones are named)."""
    defaults = get(name).profiles[profile].as_dict()
    params = params.as_dict() if isinstance(params, Config) else params
    sets = [f"--set {shlex.quote(f'{k}={v!r}')}" for k, v in sorted(params.items())
            if defaults.get(k) != v]
    return " ".join(["mlffkit run", name, "--profile", profile, *sets])


def run(name: str, profile: str = "book", *, store: ResultsStore | None = None,
        scheduler: str | None = None, **overrides: Any) -> Result:
    """Run (or load) an experiment at a profile, with parameter overrides. With a
    ``scheduler`` (``"local:2"``, a Dask address: :mod:`mlffkit.experiments.distributed`), a
    sweep's runs are first computed on Dask workers, each stored as it finishes."""
    experiment = get(name)
    params = resolve(name, profile, **overrides)
    if scheduler is not None:
        if experiment.runs is None:
            raise ValueError(f"{name} is not a sweep of stored runs; run it without a scheduler")
        if store is not None:
            raise ValueError("a scheduler's workers use the default results store "
                             "(MLFFKIT_RESULTS_DIR), not a store object")
        from mlffkit.experiments.distributed import compute_runs

        module = experiment.compute.__module__
        compute_runs([(module, run_name, run_profile, config.as_dict())
                      for run_name, run_profile, config in experiment.runs(params)], scheduler)
    if profile not in experiment.stored_profiles:
        result = experiment.compute(params)
        result.record = {"experiment": name, "params": params.as_dict(), "stored": False}
        return result
    datasets = dict(experiment.datasets(params)) if experiment.datasets else {}
    return (store or ResultsStore()).load_or_run(
        name, params.as_dict(), lambda _: experiment.compute(params),
        code_version=experiment.version, datasets=datasets,
        command=command(name, profile, params))


def missing(name: str, profile: str = "book", *, store: ResultsStore | None = None,
            **overrides: Any) -> list[tuple[str, Config]]:
    """What :func:`run` with these arguments would compute rather than load, as
    ``(experiment, config)`` pairs; nothing is computed. ``[]``: everything is stored. For a
    sweep, its runs without a record (gathering stored runs is cheap); otherwise the
    experiment itself, unless its record is stored (a profile that is never stored, such as
    ``smoke``, is always missing)."""
    experiment = get(name)
    params = resolve(name, profile, **overrides)
    store = store or ResultsStore()
    if experiment.runs is not None:
        return [(run_name, config) for run_name, run_profile, config in experiment.runs(params)
                if not _is_stored(store, run_name, run_profile, config)]
    return [] if _is_stored(store, name, profile, params) else [(name, params)]


def _is_stored(store: ResultsStore, name: str, profile: str, params: Config) -> bool:
    experiment = get(name)
    if profile not in experiment.stored_profiles:
        return False
    datasets = dict(experiment.datasets(params)) if experiment.datasets else {}
    key = record_key(name, experiment.version, params.as_dict(), datasets)
    return store.paths(name, key)[0].exists()


@dataclass
class NotebookParameters:
    """Checks a chapter's papermill parameters.

    Create it in the cell *before* the ``parameters`` cell (it remembers which names exist),
    then call :meth:`run` after it: every name defined since is a parameter, and a name the
    experiment does not know (``papermill -p typo 1``) is an error naming the valid ones.
    A parameter left at ``None`` takes the profile's value.
    """

    experiment: str
    namespace: Mapping[str, Any]
    _before: frozenset = field(init=False)

    def __post_init__(self) -> None:
        self._before = frozenset(self.namespace)
        get(self.experiment)

    def values(self, namespace: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        new = {k: v for k, v in namespace.items()
               if k not in self._before and not k.startswith("_") and v is not self}
        profile = new.pop("profile", "book")
        return profile, {k: v for k, v in new.items() if v is not None}

    def run(self, namespace: Mapping[str, Any], **kwargs: Any) -> Result:
        profile, overrides = self.values(namespace)
        return run(self.experiment, profile, **overrides, **kwargs)


def describe(experiments: Iterable[str] | None = None) -> str:
    lines = []
    for name in experiments or names():
        exp = get(name)
        lines.append(f"{name} (v{exp.version}): {exp.description}")
        for profile in PROFILES:
            lines.append(f"  {profile}: {exp.profiles[profile].as_dict()}")
        lines.append("  accepts: " + "; ".join(f"{n}: {exp.specs[n].expected()}"
                                               for n in exp.parameters))
    return "\n".join(lines)
