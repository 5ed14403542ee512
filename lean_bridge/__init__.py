"""LEAN adapters: the ports of :mod:`system.ports` implemented on QuantConnect LEAN objects.

Only ``main.py`` imports ``AlgorithmImports``. The modules here take the few LEAN objects they use
as parameters (duck-typed at run time, typed against ``quantconnect-stubs`` for mypy through
``TYPE_CHECKING`` imports), so their logic is tested with small fakes and without the engine.

Modules
-------
market
    :class:`~lean_bridge.market.LeanMarket` (``system.ports.Market``) built from slices.
broker
    :class:`~lean_bridge.broker.LeanBroker` (``system.ports.Broker``) on combo orders.
store
    :class:`~lean_bridge.store.LeanStore` (``system.ports.Store``) on the ObjectStore.
symbols
    Contract <-> LEAN ``Symbol`` book and the LEAN enum members the adapters compare against.
brokerage_rules
    What the selected brokerage accepts (checked before an order is sent).
subscriptions
    Which roots to subscribe and which option contracts the universe filters keep.
scheduling, pump, reporting, shell, smoke
    Schedule dispatch, event delivery, charts, algorithm parameters, smoke-test invariants.
export
    Writes LEAN project folders that contain only what ``main.py`` imports.
"""
