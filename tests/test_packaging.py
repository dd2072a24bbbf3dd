"""The installed package (issue 19): what a user gets from `pip install distillate`, not from this checkout.

- Every Python package folder of the repo (a folder with __init__.py under a source folder that
  pyproject's [tool.setuptools.package-dir] maps) is listed in [tool.setuptools] packages, and every
  top-level folder holding Python packages is mapped (or named here as not installed).
- The wheel built from a clean copy of the tree holds every tracked file of the mapped folders that the
  package needs: modules, sql/ (migrations, views, checks, queries/<package>/), demo/, ui/ views and css.
- `distillate demo` runs from the wheel installed NOT editable into a fresh virtualenv, in an empty folder:
  fast, with the dependencies borrowed from this venv through a .pth line (the editable install's finder
  is never loaded: .pth files of an added folder are not processed); and (slow) with the core
  dependencies resolved by pip from the package index, which also proves them sufficient for the demo.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
NOT_INSTALLED = {"bench", "tests"}  # top-level folders with Python code that are not part of the package
# tracked files under mapped folders that the wheel leaves out on purpose
NOT_SHIPPED: set[str] = set()


def _mapped() -> dict[str, str]:
    """package name -> source folder (relative to the repo)."""
    return dict(SETUPTOOLS["package-dir"])


def _package_of(folder: Path) -> str | None:
    rel = folder.relative_to(REPO)
    for pkg, src in sorted(_mapped().items(), key=lambda kv: -len(kv[1])):
        if rel == Path(src) or Path(src) in rel.parents:
            return ".".join([pkg, *rel.relative_to(src).parts]) if rel != Path(src) else pkg
    return None


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    return [f for f in out.splitlines() if (REPO / f).is_file()]


def test_every_package_folder_is_listed():
    listed = set(SETUPTOOLS["packages"])
    found, unmapped = set(), set()
    for init in REPO.rglob("__init__.py"):
        rel = init.parent.relative_to(REPO)
        if rel.parts[0].startswith(".") or rel.parts[0] in NOT_INSTALLED or "__pycache__" in rel.parts:
            continue
        pkg = _package_of(init.parent)
        (found.add(pkg) if pkg else unmapped.add(str(rel)))
    assert not unmapped, f"package folders that pyproject's package-dir does not map: {sorted(unmapped)}"
    assert found - listed == set(), f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert listed - found == set(), f"listed but not a package folder: {sorted(listed - found)}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the tree (a build never writes into the checkout)."""
    src = tmp_path_factory.mktemp("src")
    for f in _tracked():
        if f.split("/", 1)[0] in NOT_INSTALLED or f.startswith("."):
            continue
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        (src / f).write_bytes((REPO / f).read_bytes())
    dist = tmp_path_factory.mktemp("dist")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(src), "-w", str(dist)]
    try:
        import setuptools  # noqa: F401  (present: build here; absent: pip fetches it into an isolated env)
        cmd.insert(4, "--no-build-isolation")
    except ImportError:
        pass
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    (whl,) = dist.glob("distillate-*.whl")
    return whl


def test_wheel_holds_modules_and_package_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = []
    for f in _tracked():
        p = REPO / f
        pkg = _package_of(p.parent)
        if pkg is None or any(f == x or f.startswith(x + "/") for x in NOT_SHIPPED):
            continue
        if p.name == "README.md" and p.parent == REPO:
            continue
        # where the file lands in the wheel: the package's folder path + the file name
        if "/".join(pkg.split(".") + [p.name]) not in names:
            missing.append(f)
    assert not missing, f"tracked files the wheel lacks (package-data?): {missing}"
    # the parts the demo and the app cannot run without, named so a failure reads plainly
    for must in ("distillate/sql/migrations/001_core.sql", "distillate/demo/recipe.yaml",
                 "distillate/demo/benchmarks/demo_bench.jsonl", "distillate/ui/app.py"):
        assert must in names or any(n.startswith(must.rsplit("/", 1)[0] + "/") for n in names), must
    assert any(n.startswith("distillate/sql/queries/") and n.count("/") == 4 for n in names), \
        "sql/queries/<package>/<name>.sql"
    assert any(n.startswith("distillate/ui/views/") for n in names)


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _run_demo(venv: Path, cwd: Path, env: dict) -> None:
    exe = venv / "bin" / "distillate"
    assert exe.exists(), "the console script was not installed"
    where = subprocess.run([str(_venv_python(venv)), "-c", "import distillate, sys; print(distillate.__file__)"],
                           cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr[-2000:]
    assert Path(where.stdout.strip()).resolve().is_relative_to(venv.resolve()), \
        f"imported {where.stdout.strip()}, not the installed wheel"
    r = subprocess.run([str(exe), "demo", "-q"], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
    build = cwd / "demo-build"
    kept = (build / "sft.jsonl").read_text().splitlines()
    assert len(kept) > 20 and (build / "report.html").stat().st_size > 10_000
    assert (build / "DATACARD.md").exists() and (cwd / "demo-workspace" / "catalog.duckdb").exists()


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.pop("DISTILLATE_WORKSPACE", None)
    return env


def test_demo_runs_from_the_wheel_not_editable(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(_venv_python(venv)), "install", "-q",
                        "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    purelib = subprocess.run([str(_venv_python(venv)), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # the dependencies of this venv, appended after the fresh site-packages (the wheel's distillate wins)
    (Path(purelib) / "_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run = tmp_path / "run"
    run.mkdir()
    _run_demo(venv, run, _clean_env())


@pytest.mark.slow  # a fresh venv with the core dependencies from the package index: ~1 min here, more if remote
def test_demo_runs_from_a_clean_install_with_core_dependencies(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    r = subprocess.run([str(_venv_python(venv)), "-m", "pip", "install", "-q", str(wheel)], capture_output=True,
                       text=True, timeout=1500)
    assert r.returncode == 0, r.stderr[-3000:]
    chk = subprocess.run([str(_venv_python(venv)), "-m", "pip", "check"], capture_output=True, text=True, timeout=300)
    assert chk.returncode == 0, chk.stdout + chk.stderr
    # the core install has none of the extras (torch, transformers, streamlit, ray): the demo must not need them
    probe = subprocess.run([str(_venv_python(venv)), "-c", "import importlib.util as u; print([m for m in "
                            "('torch', 'transformers', 'streamlit', 'ray') if u.find_spec(m)])"],
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "[]", probe.stdout
    run = tmp_path / "run"
    run.mkdir()
    _run_demo(venv, run, _clean_env())
