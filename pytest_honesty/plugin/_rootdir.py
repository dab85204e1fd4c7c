"""Keep ``--honeset PATH`` (a value after a space) from moving pytest's rootdir.

pytest decides the rootdir and finds the ini file before it loads plugins from
entry points, so at that moment it does not know that ``--honeset`` takes a value:
the dataset path looks like a test path, the rootdir becomes the dataset's folder
and the project's ``pytest.ini`` is not read (no ``honesty_model``, 0 items, or
files written next to the dataset). Once this plugin is loaded pytest has parsed
the arguments again, correctly; if the first guess differs from what that parse
gives, the configuration is redone here, in ``pytest_load_initial_conftests``
(before conftests, ``testpaths``, the cache folder or anything else uses it).

This touches pytest internals (the attributes ``Config.parse`` sets). When they
are not what we expect, the run stops with a usage error naming the ``=`` form,
which never has the problem, rather than running in the wrong folder.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from ._options import VALUE_FLAGS

__all__ = ["redo_setup_if_misled", "values_taken_as_paths"]

#: flags whose value is the next argument when written with a space


def values_taken_as_paths(args: Sequence[str]) -> list[str]:
    """The arguments that follow one of our value-taking flags with a space: pytest's
    first look at the command line takes them for test paths."""
    values = []
    for flag, value in itertools.pairwise(args):
        if flag in VALUE_FLAGS and not value.startswith("-"):
            values.append(value)
    return values


def _determine_setup(config: pytest.Config) -> tuple[Path, Path | None, Any, Any]:
    from _pytest.config.findpaths import determine_setup

    ns = config.known_args_namespace
    offered: dict[str, Any] = {
        "inifile": ns.inifilename,
        "override_ini": ns.override_ini,
        "args": list(ns.file_or_dir),
        "rootdir_cmd_arg": ns.rootdir or None,
        "invocation_dir": config.invocation_params.dir,
    }
    accepted = inspect.signature(determine_setup).parameters
    found = determine_setup(**{k: v for k, v in offered.items() if k in accepted})
    ignored = found[3] if len(found) > 3 else None
    return found[0], found[1], found[2], ignored


def redo_setup_if_misled(config: pytest.Config, args: list[str]) -> None:
    """Redo rootdir and ini discovery when a spaced option value misled pytest's first
    guess; ``args`` is the argument list pytest goes on parsing (edited in place)."""
    misleading = values_taken_as_paths(args)
    if not misleading:
        return
    try:
        rootpath, inipath, inicfg, ignored = _determine_setup(config)
        if rootpath == config.rootpath and inipath == config.inipath:
            return
        _apply(config, args, rootpath, inipath, inicfg, ignored)
    except (AttributeError, TypeError, ImportError, IndexError) as exc:
        flags = " ".join(f"{a}={b}" for a, b in itertools.pairwise(args) if b in misleading)
        raise pytest.UsageError(
            f"pytest-honesty: pytest took {', '.join(misleading)} for a test path and chose "
            f"its rootdir from it, and this pytest version ({pytest.__version__}) cannot be "
            f"corrected ({type(exc).__name__}: {exc}); write the option with '=': {flags}"
        ) from None


def _apply(
    config: Any, args: list[str], rootpath: Path, inipath: Path | None, inicfg: Any,
    ignored: Any,
) -> None:
    old_addopts = list(config.getini("addopts"))
    old_pythonpath = [str(p) for p in config.getini("pythonpath")]

    config._rootpath = rootpath
    config._inipath = inipath
    config._inicfg = inicfg
    if ignored is not None:
        config._ignored_config_files = ignored
    config._inicache.clear()
    config._parser.extra_info["rootdir"] = str(rootpath)
    config._parser.extra_info["inifile"] = str(inipath)

    # the addopts of the file pytest read first stand at the front of args: swap them
    # for those of the right file, loading any -p plugins they name
    new_addopts = list(config.getini("addopts"))
    if old_addopts and args[: len(old_addopts)] == old_addopts:
        del args[: len(old_addopts)]
    args[:0] = new_addopts
    if new_addopts:
        config.pluginmanager.consider_preparse(new_addopts, exclude_only=False)

    for path in old_pythonpath:
        if path in sys.path:
            sys.path.remove(path)
    for path in reversed(config.getini("pythonpath")):
        # pytest's own cleanup removes these at the end, reading the same ini value
        sys.path.insert(0, str(path))

    namespace = config._parser.parse_known_args(args, namespace=copy.copy(config.option))
    if namespace.confcutdir is None:  # as pytest derives it, unless given
        namespace.confcutdir = str(inipath.parent if inipath else rootpath)
    config.known_args_namespace = namespace
    _point_assert_rewriting_at(config)
    config._checkversion()
    config._validate_plugins()


def _point_assert_rewriting_at(config: pytest.Config) -> None:
    """The assertion rewriter read ``python_files`` from the first ini file."""
    for hook in sys.meta_path:
        if getattr(hook, "config", None) is config and hasattr(hook, "fnpats"):
            hook.fnpats = config.getini("python_files")
