"""Building blocks shared by the spiking workloads (:mod:`..snn`, :mod:`..inpaint`).

- :mod:`.lif`: the iterative LIF neuron (PRIME eq. 1-2) with its surrogate gradient.
- :mod:`.popup`: edge-popup on fixed random differential pairs: the forming draw
  of each layer, the top-k mask of pop-up scores, the scores' initialisation and
  the epoch loop of their training (PRIME eq. 3-4).
- :mod:`.crossbar`: convolutions and transposed convolutions as crossbar matrices
  (im2col patches in, overlap-add out).
- :mod:`.pairs`: a network's layers deployed as pruned (or tuned) pairs on analog
  layers; what the timestep loop counts; the ledger workload of one inference.
"""
