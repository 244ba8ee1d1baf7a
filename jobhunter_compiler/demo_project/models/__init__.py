"""The demo's Beanie documents. Each module holds one @datamodel class."""
