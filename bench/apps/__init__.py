"""The ASGI apps the benchmarks serve: the same routes written three ways."""
