# Two commands on a fresh clone:
#   make demo   set up .venv and run the main job on the simulated corpora, printing a leaderboard
#   make test   set up .venv and run the test suite
#   make browser  install Debian's chromium (as root, with apt-get) for the HTML leaderboard's browser tests
#
# TORCH_SPEC pins the PyTorch release: on the project's build machines torch==2.13.0 is a CPU wheel
# that pip finds locally; elsewhere it is the ordinary PyPI release. Override it to taste, e.g.
#   make demo TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.ser-bench-installed

.PHONY: demo test setup benchmark leaderboard browser clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e ".[test,ray,ssl]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ser-bench run --loss bce_pair,ratio_distance,logreg,linear_svm,softmax_mlp --source sim-crema \
		--target sim-ravdess --preset demo --results demo-results

test: $(STAMP)
	$(BIN)/python -m pytest

benchmark: $(STAMP)
	$(BIN)/python -m pytest benchmarks --benchmark-only --benchmark-enable

leaderboard: $(STAMP)
	$(BIN)/ser-bench leaderboard results/ > LEADERBOARD.md

# The browser tests (tests/test_html_leaderboard.py) skip with a reason when there is no chromium, so this
# target never fails: it installs chromium where it can and says how otherwise.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
		echo "chromium: $$(command -v chromium || command -v chromium-browser)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing chromium with apt-get"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "could not install chromium: the browser tests will be skipped"; \
	else \
		echo "no chromium: run 'sudo apt-get install chromium' (Debian/Ubuntu) to run the browser tests;" \
			"without it they are skipped"; \
	fi

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
