"""In-process fakes of external services, shared by tests and benchmarks."""
