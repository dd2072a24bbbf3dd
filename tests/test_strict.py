"""Strict mode (tests/conftest.py; .ci/run sets CI=true and DISTILLATE_STRICT=1): a skip that hides a missing
module, extra, browser or data set is a failure there, and stays a skip in a plain local run."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = (Path(__file__).resolve().parent / "conftest.py").read_text()

TESTS = '''
import pytest

def test_missing_module():
    pytest.importorskip("no_such_module_for_strict_mode")

@pytest.mark.skipif(True, reason="needs Debian chromium at /usr/bin/chromium")
def test_browser():
    pass

def test_other_reason():
    pytest.skip("vllm is installed here")

def test_passes():
    assert 1 + 1 == 2
'''

MODULE_LEVEL = '''
import pytest
pytest.importorskip("no_such_module_for_strict_mode")

def test_never_runs():
    pass
'''


@pytest.fixture
def run(pytester, monkeypatch):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_cases=TESTS, test_module_level=MODULE_LEVEL)

    def _run(**env):
        for k in ("CI", "DISTILLATE_STRICT"):
            monkeypatch.delenv(k, raising=False)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "addopts=", "--continue-on-collection-errors")

    return _run


def test_plain_run_keeps_skips(run):
    run().assert_outcomes(passed=1, skipped=4)


@pytest.mark.parametrize("env", [{"CI": "true"}, {"DISTILLATE_STRICT": "1"}])
def test_strict_run_fails_install_skips(run, env):
    res = run(**env)
    # a skip in the test body fails it; a skip at collection (module level) or setup (skipif) is an error;
    # the skip for another reason stays a skip
    res.assert_outcomes(passed=1, failed=1, skipped=1, errors=2)
    res.stdout.fnmatch_lines(["*this skip hides a broken install*"])
