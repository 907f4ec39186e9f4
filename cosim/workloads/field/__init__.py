"""The neural-field workload (NF paper): CT volume -> encoder -> low-rank SIREN on analog layers.

Small modules, one step each: :mod:`.phantom` (3D Shepp-Logan), :mod:`.volume`
(files, checks, normalisation), :mod:`.cordic` (the digital core's sin/cos),
:mod:`.encoder` (Gaussian encoder on RRAM random pairs, and the other
encodings). Importing this package does not import JAX.
"""
