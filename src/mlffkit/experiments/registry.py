"""Experiments: one per paper table or figure, each a function ``params -> Result``.

An :class:`Experiment` declares its profiles (``smoke``, ``book``, ``paper``: full parameter
sets), a code version (bumped when its numbers would change) and, where it reads files, the
sha256 of each. :func:`run` resolves a profile plus overrides, validates the names, and
computes ``smoke`` directly while ``book`` and ``paper`` go through the results store.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from mlffkit.results import Result, ResultsStore

PROFILES = ("smoke", "book", "paper")


@dataclass(frozen=True)
class Experiment:
    name: str
    version: str
    compute: Callable[[dict], Result]
    profiles: Mapping[str, Mapping[str, Any]]
    description: str = ""
    datasets: Callable[[dict], Mapping[str, str]] | None = None
    stored_profiles: tuple[str, ...] = ("book", "paper")

    def __post_init__(self) -> None:
        if set(self.profiles) != set(PROFILES):
            raise ValueError(f"{self.name}: profiles must be exactly {PROFILES}")
        names = {frozenset(p) for p in self.profiles.values()}
        if len(names) != 1:
            raise ValueError(f"{self.name}: every profile must set the same parameters")

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(sorted(self.profiles["book"]))


_REGISTRY: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    _REGISTRY[experiment.name] = experiment
    return experiment


def names() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def get(name: str) -> Experiment:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown experiment {name!r}; valid: {', '.join(names())}") from None


def resolve(name: str, profile: str = "book", **overrides: Any) -> dict[str, Any]:
    """The full parameter set of ``profile`` with ``overrides`` applied, names checked."""
    experiment = get(name)
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; valid: {', '.join(PROFILES)}")
    unknown = sorted(set(overrides) - set(experiment.parameters))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} for {name}; valid: "
                         f"profile, {', '.join(experiment.parameters)}")
    params = dict(experiment.profiles[profile])
    params.update(overrides)
    return params


def command(name: str, profile: str, params: Mapping[str, Any]) -> str:
    """The shell command that recomputes ``params`` (only the non-default ones are named)."""
    defaults = get(name).profiles[profile]
    sets = [f"--set {shlex.quote(f'{k}={v!r}')}" for k, v in sorted(params.items())
            if defaults.get(k) != v]
    return " ".join(["mlffkit run", name, "--profile", profile, *sets])


def run(name: str, profile: str = "book", *, store: ResultsStore | None = None,
        **overrides: Any) -> Result:
    """Run (or load) an experiment at a profile, with parameter overrides."""
    experiment = get(name)
    params = resolve(name, profile, **overrides)
    if profile not in experiment.stored_profiles:
        result = experiment.compute(dict(params))
        result.record = {"experiment": name, "params": params, "stored": False}
        return result
    datasets = dict(experiment.datasets(params)) if experiment.datasets else {}
    return (store or ResultsStore()).load_or_run(
        name, params, experiment.compute, code_version=experiment.version,
        datasets=datasets, command=command(name, profile, params))


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
            lines.append(f"  {profile}: {dict(exp.profiles[profile])}")
    return "\n".join(lines)
