"""Offline backtest engine: ``python -m sim`` runs the trading system on a synthetic market."""
