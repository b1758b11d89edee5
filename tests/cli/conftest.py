import pytest


@pytest.fixture(autouse=True)
def _isolated(isolated_data_env):
    """``mlffkit data ...`` reads the registry: no user data dir or cache."""
