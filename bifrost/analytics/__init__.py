"""Analytics: tearsheets of backtest runs and of the live account, trade analysis,
transaction cost analysis and attribution. Plain functions over numpy arrays and
Polars frames; `sources` gathers their inputs from daemons or store files."""
