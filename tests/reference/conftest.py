import pytest


@pytest.fixture(autouse=True)
def _isolated(isolated_data_env):
    """The generators read rMD17 through the registry: no user data dir or cache."""
