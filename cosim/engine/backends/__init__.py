"""MVM backends behind ``cosim.engine.tile.Tile``: ideal, calibrated and spice.

:mod:`.base` holds the interface, :mod:`.registry` the names and the factory.
"""
