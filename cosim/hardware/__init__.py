"""The hardware a run simulates: one :class:`~cosim.hardware.spec.HardwareSpec`, its
presets as files (:mod:`cosim.hardware.presets`)."""
