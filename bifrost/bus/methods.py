"""Every RPC method name a daemon serves, in one place.

Callers in other processes (CLI, TUI, live strategies, gateways, other daemons) name a
method with these constants instead of repeating the string, so a rename or a typo is
found by grep and by the linter, not by an UNKNOWN_METHOD at run time.
"""

from __future__ import annotations

# -- every daemon (bifrost.daemon.Daemon) ---------------------------------------------
HEALTH = "health"
READY = "ready"
METRICS = "metrics"
CONFIG = "config"
SNAPSHOT = "snapshot"
JOBS_LIST = "jobs.list"
JOBS_RUN = "jobs.run"
LOGS_TRACE = "logs.trace"
SQL_TABLES = "sql.tables"
SQL_EXPORT = "sql.export"
ALERT_RAISE = "alert.raise"

# -- risk: the one door for orders (it forwards to compliance and execution) ------------
ORDER_SUBMIT = "order.submit"
ORDER_CANCEL = "order.cancel"
ORDER_REPLACE = "order.replace"
ORDERS_CANCEL_ALL = "orders.cancel_all"
RISK_LIMITS = "risk.limits"
RISK_STATE = "risk.state"
RISK_KILL = "risk.kill"
RISK_RESUME = "risk.resume"
RISK_REDUCE = "risk.reduce"
RISK_VAR = "risk.var"

# -- execution: the journal and the broker (order-changing calls from risk only) --------
ORDER_GET = "order.get"
ORDERS_LIST = "orders.list"
FILLS_LIST = "fills.list"
ORDER_EVENTS = "order.events"
VENUES_STATUS = "venues.status"
VENUES_RECONCILE = "venues.reconcile"

# -- compliance -------------------------------------------------------------------------
COMPLIANCE_CHECK = "compliance.check"
COMPLIANCE_RULES = "compliance.rules"
COMPLIANCE_SET_RULE = "compliance.set_rule"
COMPLIANCE_VERIFY = "compliance.verify"
COMPLIANCE_REPORT = "compliance.report"

# -- portfolio --------------------------------------------------------------------------
PORTFOLIO_POSITIONS = "portfolio.positions"
PORTFOLIO_PNL = "portfolio.pnl"
PORTFOLIO_DEPOSIT = "portfolio.deposit"

# -- data -------------------------------------------------------------------------------
DATA_LIST = "data.list"
DATA_BARS = "data.bars"
DATA_BARS_MANY = "data.bars_many"
DATA_QUOTES = "data.quotes"
DATA_TRADES = "data.trades"
DATA_LATEST_TICKS = "data.latest_ticks"
DATA_IMPORT = "data.import"
DATA_VALIDATE = "data.validate"
DATA_QUARANTINE_LIST = "data.quarantine.list"
DATA_QUARANTINE_RELEASE = "data.quarantine.release"
DATA_REPLAY = "data.replay"
INSTRUMENTS_LIST = "instruments.list"
INSTRUMENTS_ADD = "instruments.add"

# -- strategy: live strategies and backtests --------------------------------------------
STRATEGY_START = "strategy.start"
STRATEGY_LIST = "strategy.list"
STRATEGY_STOP = "strategy.stop"
STRATEGIES_STOP_ALL = "strategies.stop_all"
STRATEGIES_LIST = "strategies.list"
BACKTEST_RUN = "backtest.run"
BACKTEST_SWEEP = "backtest.sweep"
BACKTEST_JOB = "backtest.job"
BACKTEST_LIST = "backtest.list"
BACKTEST_SHOW = "backtest.show"
BACKTEST_STUDIES = "backtest.studies"
BACKTEST_STUDY = "backtest.study"

# -- ml ---------------------------------------------------------------------------------
ML_TRAIN = "ml.train"
ML_JOB = "ml.job"
ML_LIST = "ml.list"
ML_SHOW = "ml.show"
ML_EXPORT = "ml.export"
ML_PREDICT = "ml.predict"
ML_PATTERNS = "ml.patterns"
ML_PREDICTIONS = "ml.predictions"

# -- news -------------------------------------------------------------------------------
NEWS_LATEST = "news.latest"
NEWS_SENTIMENT = "news.sentiment"
NEWS_SCORES = "news.scores"
NEWS_IMPORT = "news.import"

# -- microstructure ---------------------------------------------------------------------
MICRO_BOOK = "micro.book"
MICRO_METRICS = "micro.metrics"
MICRO_HISTORY = "micro.history"

# -- analytics --------------------------------------------------------------------------
ANALYTICS_REPORT = "analytics.report"
ANALYTICS_LIST = "analytics.list"
ANALYTICS_SHOW = "analytics.show"
