"""Beanie documents decorated with @datamodel, one module each."""
