"""GreenLedger (绿账): environmental and carbon ledgers for factories."""

__version__ = "0.1.0"
