# tests/: the shared harness; cross-module, interop and fuzz tests.
EXTRA_DIST += tests/check.h tests/run
