# README's two commands. `make dev`: install what is missing, build, and run
# `kairos dev` on examples/ with the web UI at http://127.0.0.1:8080/.
# `make test`: install what the tests need and run every test, exactly as
# .ci/run does.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/kairos-target

.PHONY: dev test

dev:
	tests/setup.sh build
	cargo build --locked -p kairos
	@echo "== kairos dev: the web UI is at http://127.0.0.1:8080/ (Ctrl-C stops it)"
	$(CARGO_TARGET_DIR)/debug/kairos dev --dags examples/

test:
	tests/setup.sh test
	tests/all.sh
