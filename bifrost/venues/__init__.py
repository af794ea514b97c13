"""Venues: where orders go and live data comes from (paper, ccxt exchanges, Alpaca).

`contract` says what a venue gives the data and execution services, `config` reads the
`[venues.NAME]` tables, `credentials` keeps API keys in the key store, and each kind of
venue is one module (`ccxt_venue`, `alpaca_venue`) that maps a library onto the contract.
"""
