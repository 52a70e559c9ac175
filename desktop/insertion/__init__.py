"""Text into the focused application: the interface (``base``), one module per platform,
and the result sink that uses them (``sink``)."""
