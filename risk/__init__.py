"""Risk layer: VIX regime, account phase, correlation limits, sizing, circuit breakers, stress
test, dollar greeks, buying-power estimate and the pre-trade gate that runs them in order.

Each concern has one owner module; import from the module (``from risk.gate import
PreTradeGate``).
"""
