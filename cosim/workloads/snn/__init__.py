"""The PRIME spiking-network workload: N-MNIST events, LIF neurons on analog layers.

Modules, following the data path:

- :mod:`.nmnist`: the N-MNIST event format and binning into frames.
- :mod:`.network`, :mod:`.conv`: the MLP and the conv net (pop-up scores on fixed
  random pairs; LIF neurons and edge-popup from :mod:`cosim.workloads.spiking`).
- :mod:`.deployed`: the trained net on analog layers, the timestep loop, early stop.
"""
