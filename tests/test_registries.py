"""The one registry style: backbones, readers, experiments and generated sets are Registries."""

import pytest

from mlffkit.registries import Registry, UnknownNameError


def test_register_get_and_unknown_names():
    things = Registry("thing")

    @things.register("a")
    def a():
        return 1

    assert things["a"] is a and list(things) == ["a"] and len(things) == 1
    things.add("a", a)  # the same object again (a re-import) is fine
    with pytest.raises(ValueError, match="already registered"):
        things.add("a", lambda: 2)
    with pytest.raises(UnknownNameError, match="unknown thing 'b'; valid: a$"):
        things["b"]
    with pytest.raises(KeyError):  # both kinds of lookup error
        things["b"]


def test_the_package_registries_are_one_kind():
    from mlffkit.data.readers import READERS
    from mlffkit.experiments.registry import EXPERIMENTS
    from mlffkit.models import BACKBONES

    from mlffkit.reference import SETS

    for registry in (READERS, EXPERIMENTS, BACKBONES, SETS):
        assert isinstance(registry, Registry)
    assert {"equiformer", "painn", "schnet"} <= set(BACKBONES)
    assert {"rmd17", "extxyz", "deepmd", "hdf5"} <= set(READERS)
    from mlffkit.data import readers
    assert READERS["npz"] is readers.read_npz  # the checked reader, not the bare function
    with pytest.raises(ValueError, match="unknown backbone 'mace'; valid: equiformer"):
        BACKBONES["mace"]
