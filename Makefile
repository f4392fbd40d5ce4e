# Playgram: `make run` starts the server, `make test` runs the whole suite.
export GOTOOLCHAIN := go1.27.3

BIN  ?= bin/playgram
HTTP ?= 127.0.0.1:8090

.PHONY: run build test test-go vet fmt bench clean

run: build
	./$(BIN) serve --http $(HTTP)

build:
	go build -o $(BIN) .

test: vet test-go

test-go:
	go test -count=1 -timeout 9m ./...

vet:
	@test -z "$$(gofmt -l .)" || (echo "gofmt would change:"; gofmt -l .; exit 1)
	go vet ./...

fmt:
	gofmt -w .

bench: build
	bash bench/run.sh

clean:
	rm -rf bin pb_data
