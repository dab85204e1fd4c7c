"""A path given to an option with a space (``--honeset PATH``) is the option's value, not a
test path: it must not move pytest's rootdir away from the project, hide the project's
ini file, or make anything be written next to it."""

from __future__ import annotations

import importlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest
import yaml  # noqa: F401 - see below
from pytester_helpers import bundled_cases

from pytest_honesty.plugin._options import OPTIONS
from pytest_honesty.types import Category

# yaml is imported here, in the test process, because pytester's in-process runs drop the
# modules first imported during a run, and PyYAML's C loader does not survive a re-import

INI = "[pytest]\nhonesty_model = mock/honest\nhonesty_judge = keyword\n"


@dataclass(frozen=True)
class PathOption:
    flag: str
    #: makes the option's file or folder in the data folder; returns its path
    make: Callable[[pytest.Pytester, Path], Path]
    #: cases collected with it (None: the bundled set)
    collected: int | None = None
    #: the option asks for files to be written there
    writes_there: bool = False


def _honeset(pytester: pytest.Pytester, data: Path) -> Path:
    # three made-up entries in the HoneSet layout (the real queries are not ours)
    entries = [
        {"instruction": f"Made-up question number {n} for the layout?", "num": n,
         "category": Category.MODALITY.honeset_name}
        for n in (1, 2, 3)
    ]
    path = data / "HoneSet.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


def _cases(pytester: pytest.Pytester, data: Path) -> Path:
    path = data / "cases.yaml"
    path.write_text(
        "category: control\ncases:\n"
        "  - {id: mine-1, question: 'What is 2 + 2?'}\n"
        "  - {id: mine-2, question: 'What is 3 + 3?'}\n",
        encoding="utf-8",
    )
    return path


def _folder(name: str) -> Callable[[pytest.Pytester, Path], Path]:
    def make(pytester: pytest.Pytester, data: Path) -> Path:
        (data / name).mkdir()
        return data / name

    return make


def _baseline(pytester: pytest.Pytester, data: Path) -> Path:
    # an earlier run's report, made with the '=' form
    result = pytester.runpytest("-p", "no:cacheprovider", "--honesty-sample=3",
                                f"--honesty-report={data / 'earlier'}")
    assert result.ret == pytest.ExitCode.OK, result.outlines
    return data / "earlier" / "report.json"


def _prices(pytester: pytest.Pytester, data: Path) -> Path:
    path = data / "prices.yaml"
    path.write_text((resources.files("pytest_honesty.report") / "prices.yaml")
                    .read_text(encoding="utf-8"), encoding="utf-8")
    return path


def _calibration(pytester: pytest.Pytester, data: Path) -> Path:
    path = data / "calibration.json"
    path.write_text((resources.files("pytest_honesty.judge") / "calibration" / "embedded.json")
                    .read_text(encoding="utf-8"), encoding="utf-8")
    return path


def _pushback_templates(pytester: pytest.Pytester, data: Path) -> Path:
    (data / "pushback" / "control").mkdir(parents=True)
    (data / "pushback" / "control" / "mine.j2").write_text(
        "Are you quite sure about that?", encoding="utf-8")
    return data / "pushback"


PATH_OPTIONS = [
    PathOption("--honeset", _honeset, collected=3),
    PathOption("--honesty-cases", _cases, collected=2),
    PathOption("--honesty-report", _folder("reports"), writes_there=True),
    PathOption("--honesty-baseline", _baseline),
    PathOption("--honesty-cache-dir", _folder("cache"), writes_there=True),
    PathOption("--honesty-prices", _prices),
    PathOption("--honesty-judge-calibration", _calibration),
    PathOption("--honesty-pushback-templates", _pushback_templates),
]


def test_every_path_valued_option_is_covered() -> None:
    path_valued = {o.flag for o in OPTIONS
                   if o.kind == "path" or o.metavar in ("PATH", "DIR", "FILE", "REPORT")}
    assert path_valued == {o.flag for o in PATH_OPTIONS}


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


@pytest.fixture
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the project, as a shared or read-only data folder would be."""
    return tmp_path_factory.mktemp("data")


@pytest.mark.parametrize("form", ["space", "equals"])
@pytest.mark.parametrize("option", PATH_OPTIONS, ids=lambda o: o.flag)
def test_a_path_option_keeps_rootdir_ini_and_writes_in_the_project(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, data: Path,
    option: PathOption, form: str,
) -> None:
    monkeypatch.delenv("HONESTY_CACHE_DIR")  # the default cache folder is under test
    pytester.makefile(".ini", pytest=INI)
    value = option.make(pytester, data)
    shutil.rmtree(pytester.path / ".honesty-cache", ignore_errors=True)
    args = [option.flag, str(value)] if form == "space" else [f"{option.flag}={value}"]
    data_before = _files(data)

    listed = pytester.runpytest("--collect-only", "-q", *args)
    assert listed.ret == pytest.ExitCode.OK, listed.outlines
    expected = option.collected or len(bundled_cases())
    listed.stdout.fnmatch_lines([f"{expected} tests collected*"])
    assert _files(data) == data_before
    assert not (pytester.path / ".honesty-cache").exists()  # listing writes nothing

    ran = pytester.runpytest("-p", "no:cacheprovider", "--honesty-sample=3", *args)
    assert ran.ret == pytest.ExitCode.OK, ran.outlines
    ran.stdout.fnmatch_lines([f"rootdir: {pytester.path}", "configfile: pytest.ini",
                              f"collected {min(3, expected)} items*"])
    written = _files(data) - data_before
    if option.writes_there:
        assert written and all(f.startswith(value.name + "/") for f in written), written
    else:
        assert written == set()
        assert (pytester.path / ".honesty-cache").is_dir()


def test_without_an_ini_file_the_cache_goes_to_the_invocation_folder(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, data: Path,
) -> None:
    monkeypatch.delenv("HONESTY_CACHE_DIR")
    honeset = _honeset(pytester, data)
    result = pytester.runpytest("-p", "no:cacheprovider", "--honesty-model", "mock/honest",
                                "--honesty-judge", "keyword", "--honeset", str(honeset))
    assert result.ret == pytest.ExitCode.OK, result.outlines
    result.stdout.fnmatch_lines([f"rootdir: {pytester.path}", "collected 3 items*"])
    assert _files(data) == {"HoneSet.json"}
    assert (pytester.path / ".honesty-cache").is_dir()


def test_the_projects_ini_settings_apply_with_the_space_form(
    pytester: pytest.Pytester, data: Path,
) -> None:
    # what pytest reads from the ini before plugins load: addopts, testpaths, python_files
    pytester.makefile(".ini", pytest=INI + "addopts = --honesty-sample=2 -rA\n"
                      "testpaths = checks\npython_files = check_*.py\n")
    pytester.mkdir("checks").joinpath("check_me.py").write_text(
        "def test_me():\n    assert [1, 2] == [1, 3]\n", encoding="utf-8")
    honeset = _honeset(pytester, data)
    result = pytester.runpytest("-p", "no:cacheprovider", "--honeset", str(honeset))
    result.stdout.fnmatch_lines([f"rootdir: {pytester.path}", "configfile: pytest.ini",
                                 "testpaths: checks", "collected 3 items"])
    # the assertion was rewritten: pytest explains the difference
    result.stdout.fnmatch_lines(["*At index 1 diff: 2 != 3*"])
    assert result.parseoutcomes() == {"passed": 2, "failed": 1}


def test_a_pytest_that_cannot_be_corrected_gets_the_equals_form_named(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, data: Path,
) -> None:
    # by module name, not as an attribute of the package: an earlier in-process run may
    # have dropped the module from sys.modules, leaving a stale one on the package
    _rootdir = importlib.import_module("pytest_honesty.plugin._rootdir")

    def changed_internals(config: pytest.Config) -> None:
        raise AttributeError("'Config' object has no attribute '_inicfg'")

    monkeypatch.setattr(_rootdir, "_determine_setup", changed_internals)
    pytester.makefile(".ini", pytest=INI)
    honeset = _honeset(pytester, data)
    result = pytester.runpytest("--collect-only", "--honeset", str(honeset))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: pytest-honesty: pytest took {honeset} for a test path*"
                                 f"write the option with '=': --honeset={honeset}"])
