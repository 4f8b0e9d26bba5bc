# Telos: `make run` starts everything on embedded defaults; `make test` runs every test.
export GOTOOLCHAIN := go1.27.3
GO ?= go
BIN := bin/telos

.PHONY: run build test bench vet fmt clean

build:
	$(GO) build -o $(BIN) ./cmd/telos

run: build
	./$(BIN) dev

vet:
	$(GO) vet ./...

test: vet
	$(GO) test -count=1 -timeout 25m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 40m ./bench/
	$(GO) test -run '^$$' -bench . -benchtime 20000x ./budget/

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
