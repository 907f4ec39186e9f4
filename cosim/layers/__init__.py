"""Analog layers: one weight matrix on hardware, the unit workloads compose."""
