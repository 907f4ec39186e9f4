"""Accounting: event counts, the energy table and ledger, area, GPU baselines and
the SPICE simulations behind the simulated energy figures."""
