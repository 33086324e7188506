"""Hypothesis profiles for the bad-input suite, an example counter, and the closing summary.

HYPOTHESIS_PROFILE selects a profile: `default` (the normal `make test`), `ci` (4× the examples) or
`thorough` (20×); each test's budget is strategies.budget(n). At the end of the session one line per fuzz
test says what was proved: "fuzz: <test> — N examples, F failures" (written by tests/conftest.py).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz.counting import EXAMPLES, EXAMPLES_PROPERTY, current

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture,
            HealthCheck.large_base_example, HealthCheck.filter_too_much]
# No deadline: the HTTP tests talk to a real server and database on a shared 2-core machine.
settings.register_profile("default", deadline=None, suppress_health_check=_SLOW_OK, print_blob=True)
settings.register_profile("ci", deadline=None, suppress_health_check=_SLOW_OK, print_blob=True,
                          derandomize=True)
settings.register_profile("thorough", deadline=None, suppress_health_check=_SLOW_OK, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_collection_modifyitems(items):
    for item in items:
        if "/fuzz/" in str(item.fspath):
            item.add_marker(pytest.mark.fuzz)


@pytest.fixture(autouse=True)
def _name_the_running_test(request):
    name = current[0] = request.node.nodeid.split("tests/fuzz/", 1)[-1]
    yield
    # Carried by the test's report: under pytest-xdist the tests run in worker processes, and the
    # summary is written by the controller, which sees only the reports (tests/conftest.py).
    request.node.user_properties.append((EXAMPLES_PROPERTY, EXAMPLES[name]))
