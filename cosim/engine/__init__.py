"""The MVM engine: nodal solver, transistor tables, tiles and their backends
(ideal, calibrated, spice), noise, periphery (DAC/ADC) and the result cache."""
