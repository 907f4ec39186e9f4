"""Characterisation of circuit blocks in ngspice: the VCMAC ratio of every switch
code and the TIA's gain, linearity and settling. (Transfer matrices of arrays are
extracted by the engine's calibrated backend, per programmed macro.)"""
