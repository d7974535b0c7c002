"""Files beside the repository (`../shared`): present here and in CI, absent in
a user's bare clone, where the tests that need them skip and say why."""

import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))


def needs_shared(*parts):
    """A skip mark for a test that needs `../shared/<parts>`."""
    path = os.path.join(SHARED, *parts)
    return pytest.mark.skipif(
        not os.path.exists(path),
        reason=f"needs {path} beside the repository (not part of a clone)",
    )
