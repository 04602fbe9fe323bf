# denoise — the two set-up commands are `make demo` and `make test`; both install what is missing.
PREFIX ?= /usr/local
SWIFT ?= swift
SAMPLE ?= Samples/speech-fan.wav
DEMO_OUT ?= out/speech-fan-cleaned.wav

.PHONY: deps build demo test bench compare-python install uninstall dictionaries samples clean

deps:
	@command -v $(SWIFT) >/dev/null || { echo "make: swift is not installed (https://swift.org/install)"; exit 1; }
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release

# Cleans a shipped sample with the shipped dictionaries.
demo: build
	@mkdir -p $(dir $(DEMO_OUT))
	.build/release/denoise run $(SAMPLE) -o $(DEMO_OUT) --verbose
	@echo "cleaned audio written to $(DEMO_OUT)"
	@[ "$(SAMPLE)" != Samples/speech-fan.wav ] || .build/release/denoise eval Samples/speech-fan-clean.wav $(DEMO_OUT) --noisy $(SAMPLE)

test: deps
	$(SWIFT) test

# Speed and memory figures on audio the benchmark makes itself (about 4 minutes; BENCH_FLAGS=--quick: 30 s).
bench: deps
	$(SWIFT) build -c release
	.build/release/denoise-bench $(BENCH_FLAGS)

# denoise against the same pipeline in Python (needs ../shared/eval/setup.sh; not part of the tests).
compare-python: build
	scripts/compare-python.sh

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/denoise/Dictionaries/noise
	install -m 755 .build/release/denoise $(DESTDIR)$(PREFIX)/bin/denoise
	install -m 644 Dictionaries/*.safetensors $(DESTDIR)$(PREFIX)/share/denoise/Dictionaries/
	install -m 644 Dictionaries/noise/*.safetensors $(DESTDIR)$(PREFIX)/share/denoise/Dictionaries/noise/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/denoise
	rm -rf $(DESTDIR)$(PREFIX)/share/denoise

# Retrains Dictionaries/ from ../shared/corpus (about 20 minutes on 2 cores).
dictionaries: build
	scripts/train-dictionaries.sh Dictionaries

# Regenerates Samples/ (needs espeak-ng and sox).
samples:
	Samples/make-samples.sh

clean:
	rm -rf .build out
