"""The call machinery: every model and judge call goes through one
:class:`~pytest_honesty.calls.engine.Engine` per process (cache, in-flight dedup,
adaptive concurrency, retries, timeouts, giving up on a dead provider) and the SQLite
cache shared by a run's processes. It knows nothing of pytest.
"""
