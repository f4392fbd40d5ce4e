# Playgram: `make run` starts the server, `make test` runs the whole suite.
export GOTOOLCHAIN := go1.27.3

BIN  ?= bin/playgram
HTTP ?= 127.0.0.1:8090

.PHONY: run build ui test test-go test-browser vet fmt bench bench-ui clean

run: build
	./$(BIN) serve --http $(HTTP)

build: ui
	go build -o $(BIN) .

# ui builds the dashboard into pb_public/dist (embedded by go build). Without npm the placeholder page is embedded.
ui:
	@if command -v npm >/dev/null 2>&1; then \
		cd ui && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } && npm run build; \
	else echo "npm not found: embedding the placeholder page instead of the dashboard (install Node.js to build ui/)"; fi

test: vet test-go test-browser

# test-browser runs the dashboard's browser tests (node --test, playwright-core, Debian's chromium) against the
# built binary. Outside CI a machine without npm or chromium skips them with a message; in CI they must run.
test-browser: build
	@if ! command -v npm >/dev/null 2>&1 || [ ! -x "$${CHROMIUM:-/usr/bin/chromium}" ]; then \
		if [ -n "$$CI" ]; then echo "browser tests need npm and /usr/bin/chromium"; exit 1; fi; \
		echo "SKIPPED browser tests: install nodejs, npm and chromium to run them"; exit 0; \
	fi; \
	cd tests/browser && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && node --test --test-concurrency=1

test-go:
	go test -count=1 -timeout 9m ./...

vet:
	@test -z "$$(gofmt -l .)" || (echo "gofmt would change:"; gofmt -l .; exit 1)
	go vet ./...

fmt:
	gofmt -w .

bench: build
	bash bench/run.sh

bench-ui: ui
	bash bench/ui.sh

clean:
	rm -rf bin pb_data
	find pb_public/dist -mindepth 1 ! -name .keep -delete
