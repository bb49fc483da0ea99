# Two entry points, each doing all of its own set-up on a fresh machine:
#   make serve   build dist/ (vendored Pyodide, offline) and serve it on 127.0.0.1:8000
#   make test    the whole test suite (CPython unit tests + browser tests in Chromium, Firefox ESR, WebKitGTK)
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: serve test setup system toolchain build bench clean

serve: setup toolchain
	$(BIN)/python build.py serve --port $(PORT)

build: setup toolchain
	$(BIN)/python build.py

test: setup system
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup system
	$(BIN)/python -m kcsolver.bench

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test,train]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian packages: the three browser engines of the browser tests (Chromium; Firefox ESR; WebKitGTK's WebKitWebDriver +
# MiniBrowser, on an Xvfb display); for the captcha generator, serif fonts (the look-alike
# faces) and xfonts-base (X11's 6x13, the face of GD's small font that draws the credits strip).
SYSTEM_PACKAGES := chromium firefox-esr webkit2gtk-driver xvfb xfonts-base fonts-urw-base35 fonts-texgyre fonts-freefont-ttf fonts-dejavu-core fonts-liberation \
	fonts-linuxlibertine fonts-ebgaramond fonts-crosextra-caladea fonts-cardo fonts-junicode
# clang and wasm-ld (lld) build the SIMD matrix product (native/gemm_simd128.c) into the site. Without them
# (no apt, no root) the build warns and the site runs on NumPy's own products, so this step may fail softly.
TOOLCHAIN := clang lld
toolchain:
	-@missing=$$(for p in $(TOOLCHAIN); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

system: toolchain
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

clean:
	rm -rf dist build .pytest_cache
