"""Outputs: run folders (locks, manifests), tables, figures and the HTML report."""
