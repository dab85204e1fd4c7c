"""Running the suite: ``evaluate()`` and the one assembly every entry point builds
(:class:`~pytest_honesty.run._evaluation.Evaluation`), the runner (case -> strategy ->
judge -> result), the prompting strategies and pushback rounds.

Nothing is re-exported here: the public door is :func:`pytest_honesty.evaluate`.
"""
