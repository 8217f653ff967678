# Tessera: `make up` runs the platform, `make test` tests it. `make` alone lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export DATABASE_URL ?=
PROFILE ?= release

.PHONY: help up down ps logs e2e compose-e2e generate fuzz k8s-validate test monitoring-check browser-test assets assets-check lint fmt check-services migrate openapi bench clean-state doc

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

up: ## Build, create and migrate the databases, seed demo data, start everything, print URLs and credentials
	@PROFILE=$(PROFILE) scripts/up.sh

down: ## Stop everything `make up` started
	@scripts/down.sh

ps: ## What is running and whether it is ready
	@scripts/ps.sh

logs: ## Follow the services' logs
	@tail -n 50 -F .tessera/logs/*.log

e2e: check-services ## The end-to-end suite through the gateway, then the API fuzzer (brings the platform up, dev build + provider stub, when it is not running)
	@scripts/e2e.sh

fuzz: ## schemathesis on every service's OpenAPI document against the running platform (changes its demo data)
	@scripts/fuzz.sh

compose-e2e: check-services ## The compose deployment for real: Docker engine and Debian base image if missing (root), images, every healthcheck, the e2e suite through the compose gateway, container faults
	@scripts/compose-e2e.sh

generate: ## Regenerate every deployment (make up's environment, compose, the nginx routes, k8s/base, .env.example topology) from deploy/platform.toml
	python3 deploy/generate.py

k8s-validate: ## Render the kustomize overlays, validate them against the Kubernetes schemas, run the checkov security scan
	@k8s/validate.sh

check-services: ## Fail with instructions when PostgreSQL or RabbitMQ is not reachable
	@bash -c 'source scripts/lib.sh; require_postgres; require_rabbitmq'

test: check-services ## Everything CI runs: fmt check, clippy (warnings denied), docs, every test on the real PostgreSQL and RabbitMQ
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
	cargo test --doc --workspace --locked --quiet
	cargo nextest run --workspace --all-features --locked
	$(MAKE) monitoring-check
	$(MAKE) browser-test

monitoring-check: ## promtool on the shipped Prometheus configuration and alert rules (and the rules' unit tests)
	@command -v promtool >/dev/null || { echo "promtool is missing: apt-get install prometheus (.ci/run installs it)"; exit 1; }
	promtool check config --syntax-only deploy/prometheus/prometheus.yml
	promtool check rules deploy/prometheus/alerts.yml
	cd deploy/prometheus && promtool test rules alerts.test.yml

browser-test: assets-check ## Headless Chromium drives the quotations web flow; screenshots in target/browser-artifacts
	cargo build --locked --workspace --all-features --bin quotations  # the features nextest built with: no rebuild
	@command -v chromium >/dev/null || { echo "chromium is missing: apt-get install chromium (.ci/run installs it)"; exit 1; }
	cd tests/browser && npm ci --no-audit --no-fund --silent
	node tests/browser/quotations-flow.mjs

QT_ASSETS := services/quotations/assets
# What the dashboards serve from /assets/vendor, and where npm puts it (uPlot: MIT, LICENSE kept).
VENDORED := uplot/dist/uPlot.iife.min.js=uPlot.iife.min.js uplot/dist/uPlot.min.css=uPlot.min.css uplot/LICENSE=uPlot.LICENSE

assets: ## Copy the pinned third-party browser code (services/quotations/assets/package-lock.json) into assets/vendor
	cd $(QT_ASSETS) && npm ci --no-audit --no-fund --silent
	for f in $(VENDORED); do cp $(QT_ASSETS)/node_modules/$${f%=*} $(QT_ASSETS)/vendor/$${f#*=}; done

assets-check: ## Fail when assets/vendor differs from what the lockfile pins
	cd $(QT_ASSETS) && npm ci --no-audit --no-fund --silent
	for f in $(VENDORED); do cmp $(QT_ASSETS)/node_modules/$${f%=*} $(QT_ASSETS)/vendor/$${f#*=} \
	  || { echo "$(QT_ASSETS)/vendor differs from package-lock.json: run make assets"; exit 1; }; done

lint: ## fmt check and clippy with warnings denied
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

fmt: ## Format the code
	cargo fmt --all

SVC ?= control-plane
migrate: ## Apply a service's migrations (SVC=control-plane|quotations|identity|credential-broker|users-registration; DATABASE_URL or the local default)
	@case "$(SVC)" in control-plane|quotations|identity|credential-broker|users-registration) ;; \
	  *) echo "SVC must be one of control-plane, quotations, identity, credential-broker, users-registration (got '$(SVC)')"; exit 2;; esac
	@DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/$(subst -,_,$(SVC))} \
	  cargo run --quiet --profile $(PROFILE) -p tessera_$(subst -,_,$(SVC)) --bin $(SVC) -- migrate --create-database

openapi: ## Regenerate the committed OpenAPI documents
	cargo run --quiet -p tessera_control_plane --bin control-plane -- openapi > docs/openapi/control-plane.yaml
	cargo run --quiet -p tessera_identity --bin identity -- openapi > docs/openapi/identity.yaml
	cargo run --quiet -p tessera_credential_broker --bin credential-broker -- openapi > docs/openapi/credential-broker.yaml
	cargo run --quiet -p tessera_users_registration --bin users-registration -- openapi > docs/openapi/users-registration.yaml
	cargo run --quiet -p tessera_quotations --bin quotations -- openapi > docs/openapi/quotations.yaml

BENCH ?= peer-token identity-login broker-token users-registration quotations-list
bench: check-services ## Benchmarks against their references (BENCH=peer-token|identity-login|broker-token|users-registration|quotations-list); writes docs/benchmarks.md
	@for b in $(BENCH); do bench/$$b.sh || exit 1; done
	@bench/report.sh

clean-state: down ## Stop and forget local state (.tessera: keys, secrets, demo credentials)
	rm -rf .tessera
