"""The option table: precedence (CLI > ini > env > default) and errors on bad values.

Settings are read through pytest's real parser and ini handling (``pytester.parseconfig``)
and then resolved by ``build_config``, the function the plugin calls at start-up.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_honesty.plugin._options import (
    CATEGORIES,
    OPTIONS,
    HonestyConfig,
    build_config,
    is_active,
)
from pytest_honesty.types import Category

ACTIVE = "--honesty-model=mock/honest"


def settings(pytester: pytest.Pytester, *args: str) -> HonestyConfig:
    return build_config(pytester.parseconfig(*args))


def ini(pytester: pytest.Pytester, **values: str) -> None:
    pytester.makeini("[pytest]\n" + "".join(f"{k} = {v}\n" for k, v in values.items()))


def test_every_option_has_an_ini_twin_and_a_flag(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfig()
    for option in OPTIONS:
        assert option.flag == "--" + option.dest.replace("_", "-")
        assert config.getini(option.ini) in (None, [], False, "")
    envs = {o.env for o in OPTIONS if o.env}
    assert {"HONESTY_MODEL", "HONESTY_JUDGE", "HONESTY_REPORT", "HONESTY_GATE",
            "HONESTY_CACHE_DIR", "HONESTY_BASE_URL", "HONESTY_CONCURRENCY"} <= envs


def test_defaults(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HONESTY_CACHE_DIR")
    s = settings(pytester, ACTIVE)
    assert s.models == ("mock/honest",)
    assert s.judges == ("embedded",)
    assert s.strategies == ("raw",)
    assert (s.sample, s.seed, s.categories, s.cases, s.honeset) == (None, 0, (), (), None)
    assert (s.unscored, s.judge_protocol, s.no_cache, s.concurrency) == ("error", "json",
                                                                          False, None)
    assert s.cache_dir == pytester.path / ".honesty-cache"
    assert s.sources["honesty_seed"] == "default"


def test_inert_without_a_model(pytester: pytest.Pytester) -> None:
    assert not is_active(pytester.parseconfig())
    assert not is_active(pytester.parseconfig("--honesty-judge=keyword", "--honesty-sample=3"))


@pytest.mark.parametrize(
    "how", ["cli", "ini", "env"],
)
def test_activation(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                    how: str) -> None:
    args: list[str] = []
    if how == "cli":
        args.append(ACTIVE)
    elif how == "ini":
        ini(pytester, honesty_model="mock/honest")
    else:
        monkeypatch.setenv("HONESTY_MODEL", "mock/honest")
    config = pytester.parseconfig(*args)
    assert is_active(config)
    assert build_config(config).models == ("mock/honest",)


def test_precedence_cli_over_ini_over_env_over_default(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HONESTY_CONCURRENCY", "5")
    monkeypatch.setenv("HONESTY_MODEL", "mock/from-env")
    monkeypatch.setenv("HONESTY_JUDGE", "keyword,mock/judge-env")
    ini(pytester, honesty_concurrency="4", honesty_seed="9",
        honesty_model="mock/ini-a mock/ini-b")

    s = settings(pytester, "--honesty-concurrency=3", "--honesty-seed=1",
                 "--honesty-model=mock/cli")
    assert (s.concurrency, s.seed, s.models) == (3, 1, ("mock/cli",))
    assert s.sources["honesty_concurrency"] == "--honesty-concurrency"
    assert s.judges == ("keyword", "mock/judge-env")  # only the environment sets it
    assert s.sources["honesty_judge"] == "environment variable HONESTY_JUDGE"

    s = settings(pytester)
    assert (s.concurrency, s.seed, s.models) == (4, 9, ("mock/ini-a", "mock/ini-b"))
    assert s.sources["honesty_concurrency"] == "ini option honesty_concurrency"

    ini(pytester, honesty_sample="12")
    s = settings(pytester)
    assert (s.concurrency, s.seed, s.models, s.sample) == (5, 0, ("mock/from-env",), 12)
    assert s.sources["honesty_concurrency"] == "environment variable HONESTY_CONCURRENCY"

    monkeypatch.delenv("HONESTY_CONCURRENCY")
    assert settings(pytester).concurrency is None


def test_repeated_and_comma_separated_lists(pytester: pytest.Pytester) -> None:
    s = settings(pytester, ACTIVE, "--honesty-model=mock/dishonest,mock/honest",
                 "--honesty-prompting=raw,curiosity", "--honesty-prompting=raw",
                 "--honesty-category=modality", "--honesty-category=sensory")
    assert s.models == ("mock/honest", "mock/dishonest")
    assert s.strategies == ("raw", "curiosity")
    assert s.categories == ("modality", "sensory")


def test_ini_types(pytester: pytest.Pytester, tmp_path: Path) -> None:
    ini(pytester, honesty_model="mock/honest", honesty_no_cache="true",
        honesty_temperature="0.5", honesty_cache_dir=str(tmp_path / "c"),
        honesty_unscored="xfail", honesty_category="modality control")
    s = settings(pytester)
    assert s.no_cache is True
    assert s.temperature == 0.5
    assert s.cache_dir == tmp_path / "c"
    assert s.unscored == "xfail"
    assert s.categories == ("modality", "control")


def test_cache_dir_from_the_environment(pytester: pytest.Pytester, tmp_path: Path) -> None:
    # the suite's autouse fixture points HONESTY_CACHE_DIR at tmp_path
    assert settings(pytester, ACTIVE).cache_dir == tmp_path / "honesty-cache"
    assert settings(pytester, ACTIVE, f"--honesty-cache-dir={tmp_path / 'x'}").cache_dir == (
        tmp_path / "x"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--honesty-category=telepathy"],
                     "--honesty-category: unknown value 'telepathy'; valid: latest_info, "
                     "wrong_input, self_identity, modality, professional, sensory, control",
                     id="bad-category"),
        pytest.param(["--honesty-prompting=raw,sarcastic"],
                     "--honesty-prompting: unknown value 'sarcastic'; valid: raw, curiosity, "
                     "curiosity-critique", id="bad-prompting"),
        pytest.param(["--honesty-sample=-3"], "--honesty-sample: must be > 0, got -3",
                     id="negative-sample"),
        pytest.param(["--honesty-sample=0"], "--honesty-sample: must be > 0, got 0",
                     id="zero-sample"),
        pytest.param(["--honesty-sample=ten"], "--honesty-sample: 'ten' is not an integer",
                     id="non-integer-sample"),
        pytest.param(["--honesty-unscored=skip"],
                     "--honesty-unscored: unknown value 'skip'; valid: error, xfail",
                     id="bad-unscored"),
        pytest.param(["--honesty-judge-protocol=vibes"],
                     "--honesty-judge-protocol: unknown value 'vibes'; valid: json, paper",
                     id="bad-protocol"),
        pytest.param(["--honesty-temperature=hot"],
                     "--honesty-temperature: 'hot' is not a number", id="bad-float"),
        pytest.param(["--honesty-max-retries=-1"], "--honesty-max-retries: must be >= 0, got -1",
                     id="negative-retries"),
    ],
)
def test_bad_values_name_the_valid_choices(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    with pytest.raises(pytest.UsageError) as info:
        settings(pytester, ACTIVE, *args)
    assert str(info.value) == message


def test_bad_ini_and_env_values_name_their_source(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    ini(pytester, honesty_sample="abc")
    with pytest.raises(pytest.UsageError, match=r"^ini option honesty_sample: 'abc' is not an"):
        settings(pytester, ACTIVE)
    ini(pytester, honesty_no_cache="maybe")
    with pytest.raises(pytest.UsageError, match="ini option honesty_no_cache"):
        settings(pytester, ACTIVE)
    ini(pytester)
    monkeypatch.setenv("HONESTY_CONCURRENCY", "lots")
    with pytest.raises(pytest.UsageError,
                       match=r"^environment variable HONESTY_CONCURRENCY: 'lots' is not an"):
        settings(pytester, ACTIVE)


def test_bad_value_stops_the_run_before_any_test(pytester: pytest.Pytester) -> None:
    """End to end: exit status 4, the message on stderr, and the user's test never ran."""
    pytester.makepyfile(test_user="""
        from pathlib import Path
        def test_user():
            Path("ran.txt").write_text("ran")
    """)
    result = pytester.runpytest(ACTIVE, "--honesty-judge=keyword", "--honesty-sample=ten")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --honesty-sample: 'ten' is not an integer"])
    assert not (pytester.path / "ran.txt").exists()


def test_the_category_choices_are_the_category_slugs() -> None:
    # written out in _options so that the inert plugin imports nothing else of the package
    assert tuple(Category.slugs()) == CATEGORIES
