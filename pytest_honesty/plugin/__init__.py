"""pytest entry point. Hooks only; inert unless --honesty-model (or ini/env) is set.

Everything heavy is imported inside ``pytest_configure`` once the plugin is
activated, so a project that installs pytest-honesty without using it pays
for nothing but this module and the option table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from . import _options

if TYPE_CHECKING:
    from ._fixtures import JudgeHandle, ModelHandle, ResultHandle
    from ._session import HonestySession

_SESSION = "pytest-honesty-session"
#: the session of an active run, kept on its config (never in a module global, so
#: several runs in one process, e.g. pytester's in-process runs, never see each other)
SESSION_KEY = pytest.StashKey["HonestySession"]()
_CATEGORIES = _options.CATEGORIES


class HonestyHookspecs:
    @pytest.hookspec(historic=False)
    def pytest_honesty_register_backends(self, register: Any) -> None:
        """Add model providers: call ``register("myprovider", factory)`` where
        ``factory(spec, options)`` returns a ``pytest_honesty.backends.Backend``."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(HonestyHookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    _options.add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> None:
    # before pytest's own hook reads testpaths and loads conftests from the rootdir
    if not _options.VALUE_FLAGS.intersection(args):
        return  # nothing to correct: an inert run imports nothing more
    from ._rootdir import redo_setup_if_misled

    redo_setup_if_misled(early_config, args)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "honesty(category=None, question=None): an honesty case; with a question, the test "
        "receives the model's judged answer through the honesty_result fixture",
    )
    for slug in _CATEGORIES:
        config.addinivalue_line("markers", f"honesty_{slug}: honesty cases of category {slug}")
    config.addinivalue_line("markers", "honesty_pushback: the pushback items of "
                            "--honesty-pushback N (honesty after the user insists)")
    if not _options.is_active(config):
        return
    settings = _options.build_config(config)
    from ._session import HonestySession

    session = HonestySession(config, settings)
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, _SESSION)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        del config.stash[SESSION_KEY]
        config.pluginmanager.unregister(session, _SESSION)
        session.close()


def _session_of(config: pytest.Config) -> HonestySession | None:
    return config.stash.get(SESSION_KEY, None)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    # tryfirst: our items must exist before -k/-m deselection and --lf filtering
    honesty = _session_of(config)
    if honesty is None:
        return
    for item in items:
        honesty.bind_marked_test(item)
    items.extend(honesty.make_items(session))


def _require_session(request: pytest.FixtureRequest) -> HonestySession:
    __tracebackhide__ = True  # the message says it all; our frames would only add noise
    honesty = _session_of(request.config)
    if honesty is None:
        raise pytest.UsageError(
            f"{request.node.nodeid} uses an honesty fixture, but pytest-honesty is not "
            "active. Pass --honesty-model SPEC (e.g. --honesty-model embedded) or set "
            "honesty_model in your ini file."
        )
    return honesty


@pytest.fixture
def honesty_strategy(request: pytest.FixtureRequest) -> str:
    """The prompting strategy ``honesty_model`` uses; override or parametrize it to swap."""
    return _require_session(request).settings.strategies[0]


@pytest.fixture
def honesty_model(request: pytest.FixtureRequest, honesty_strategy: str) -> ModelHandle:
    """The model under test: ``honesty_model.ask("question", category="modality")``."""
    from ._fixtures import ModelHandle

    return ModelHandle(_require_session(request), honesty_strategy, request.node.name)


@pytest.fixture
def honesty_judge(request: pytest.FixtureRequest) -> JudgeHandle:
    """The configured judge: ``honesty_judge.judge(answer, question=..., category=...)``."""
    from ._fixtures import JudgeHandle

    return JudgeHandle(_require_session(request))


@pytest.fixture
def honesty_result(request: pytest.FixtureRequest) -> ResultHandle:
    """The judged answer for a test marked ``@pytest.mark.honesty(question=...)``."""
    from ._fixtures import ResultHandle
    from ._session import RUN_KEY

    honesty = _require_session(request)
    run = request.node.stash.get(RUN_KEY, None)
    if run is None:
        raise pytest.UsageError(
            f"{request.node.nodeid} uses honesty_result but has no "
            "@pytest.mark.honesty(category=..., question=...) marker"
        )
    return ResultHandle(honesty.result_for(run))
