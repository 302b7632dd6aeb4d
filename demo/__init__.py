"""Local demo and the moto extensions shared by the demo, the benchmark and the tests."""
