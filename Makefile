# introd: common tasks. `make test` is exactly what CI runs (.ci/run).
.PHONY: quickstart test unit lint clean bench bench-classify

PY ?= python3

quickstart:  ## install introd into .venv and run the demo: a bundled mailbox, one pass, no network
	test -x .venv/bin/python || $(PY) -m venv .venv
	.venv/bin/python -m pip install -q --disable-pip-version-check .
	.venv/bin/introd demo

test:  ## install Dovecot and the test dependencies, then run everything (as CI does)
	bash scripts/test.sh

unit:  ## the fast unit tests only, in the existing .venv
	.venv/bin/python -m pytest tests/unit -q

lint:  ## ruff and mypy --strict
	.venv/bin/ruff check daemon tests bench
	.venv/bin/mypy

clean:
	rm -rf .venv .venv-py3.* build dist daemon/*.egg-info .pytest_cache .mypy_cache .ruff_cache

bench:  ## mailbox-scale benchmark: Dovecot with 1k/10k/100k messages, every pass timed (SIZES=1000,10000 for a quick run)
	.venv/bin/python bench/mailbox.py --sizes $(or $(SIZES),1000,10000,100000)

bench-classify:  ## classification throughput of the pure core (10,000 corpus messages)
	.venv/bin/python bench/classify.py 10000
