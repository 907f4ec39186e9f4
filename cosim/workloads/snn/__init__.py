"""The PRIME spiking-network workload: N-MNIST events, LIF neurons on analog layers.

Modules, following the data path:

- :mod:`.nmnist`: the N-MNIST event format and binning into frames.
- :mod:`.lif`: the iterative LIF neuron (PRIME eq. 1-2) with its surrogate gradient.
"""
