"""Every table of every store file, created and upgraded by numbered migrations.

Each daemon's DuckDB file has its own migration list (`DATA`, `STRATEGY`). A file
records the migrations it has had in `schema_version`; opening it applies the
missing ones in order, each in its own transaction. Timestamps are BIGINT
nanoseconds UTC, as everywhere in Bifrost.
"""

from __future__ import annotations

Migrations = tuple[tuple[int, str, str], ...]

DATA: Migrations = (
    (
        1,
        "market data: instruments, bars, quotes, trades, quarantine, imports",
        """
        CREATE TABLE instruments (
            symbol      VARCHAR PRIMARY KEY,
            venue       VARCHAR NOT NULL,
            asset_class VARCHAR NOT NULL,
            currency    VARCHAR NOT NULL,
            tick_size   DOUBLE  NOT NULL,
            lot_size    DOUBLE  NOT NULL,
            multiplier  DOUBLE  NOT NULL,
            calendar    VARCHAR NOT NULL
        );
        CREATE TABLE bars (
            symbol    VARCHAR NOT NULL,
            timeframe VARCHAR NOT NULL,
            ts        BIGINT  NOT NULL,
            open      DOUBLE  NOT NULL,
            high      DOUBLE  NOT NULL,
            low       DOUBLE  NOT NULL,
            close     DOUBLE  NOT NULL,
            volume    DOUBLE  NOT NULL,
            PRIMARY KEY (symbol, timeframe, ts)
        );
        CREATE TABLE quotes (
            symbol   VARCHAR NOT NULL,
            ts       BIGINT  NOT NULL,
            bid      DOUBLE  NOT NULL,
            ask      DOUBLE  NOT NULL,
            bid_size DOUBLE  NOT NULL,
            ask_size DOUBLE  NOT NULL
        );
        CREATE TABLE trades (
            symbol   VARCHAR NOT NULL,
            ts       BIGINT  NOT NULL,
            price    DOUBLE  NOT NULL,
            size     DOUBLE  NOT NULL,
            side     VARCHAR NOT NULL,
            trade_id VARCHAR NOT NULL
        );
        CREATE TABLE imports (
            import_id   VARCHAR PRIMARY KEY,
            started_ns  BIGINT  NOT NULL,
            files       VARCHAR[] NOT NULL,
            report      JSON    NOT NULL
        );
        CREATE TABLE quarantine (
            import_id VARCHAR NOT NULL,
            file      VARCHAR NOT NULL,
            line      BIGINT  NOT NULL,
            symbol    VARCHAR,
            timeframe VARCHAR,
            ts        BIGINT,
            reason    VARCHAR NOT NULL,
            row       JSON    NOT NULL
        );
        """,
    ),
    (
        2,
        "instruments: the venue's minimum quantity and order value",
        """
        ALTER TABLE instruments ADD COLUMN min_quantity DOUBLE NOT NULL DEFAULT 0;
        ALTER TABLE instruments ADD COLUMN min_notional DOUBLE NOT NULL DEFAULT 0;
        """,
    ),
    (
        3,
        "gaps in live data: a venue's stream was down and nothing was made up for it",
        """
        CREATE TABLE gaps (
            source   VARCHAR NOT NULL,
            symbol   VARCHAR NOT NULL,
            start_ns BIGINT  NOT NULL,
            end_ns   BIGINT  NOT NULL,
            reason   VARCHAR NOT NULL
        );
        """,
    ),
)

SCHEMA_VERSION_DDL = """
CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY,
    description VARCHAR NOT NULL,
    applied_ns  BIGINT  NOT NULL
)
"""

STRATEGY: Migrations = (
    (
        1,
        "backtest runs with their parameters, statistics, trades and equity",
        """
        CREATE TABLE runs (
            run_id       VARCHAR PRIMARY KEY,
            created_ns   BIGINT  NOT NULL,
            strategy     VARCHAR NOT NULL,
            params       JSON    NOT NULL,
            symbols      VARCHAR[] NOT NULL,
            timeframe    VARCHAR NOT NULL,
            start_ns     BIGINT  NOT NULL,
            end_ns       BIGINT  NOT NULL,
            engine       VARCHAR NOT NULL,
            settings     JSON    NOT NULL,
            code_version VARCHAR NOT NULL,
            stats        JSON    NOT NULL,
            kind         VARCHAR NOT NULL DEFAULT 'run'
        );
        CREATE TABLE run_trades (
            run_id      VARCHAR NOT NULL,
            symbol      VARCHAR NOT NULL,
            entry_ts    BIGINT  NOT NULL,
            exit_ts     BIGINT  NOT NULL,
            size        DOUBLE  NOT NULL,
            entry_price DOUBLE  NOT NULL,
            exit_price  DOUBLE  NOT NULL,
            pnl         DOUBLE  NOT NULL,
            commission  DOUBLE  NOT NULL
        );
        CREATE TABLE run_equity (
            run_id  VARCHAR NOT NULL,
            ts      BIGINT  NOT NULL,
            equity  DOUBLE  NOT NULL,
            exposed BOOLEAN NOT NULL
        );
        """,
    ),
    (
        2,
        "live strategies, restarted with the service while they are running",
        """
        CREATE TABLE live_strategies (
            strategy_id VARCHAR PRIMARY KEY,
            name        VARCHAR NOT NULL,
            file        VARCHAR,
            symbols     VARCHAR[] NOT NULL,
            timeframe   VARCHAR NOT NULL,
            params      JSON    NOT NULL,
            capital     DOUBLE  NOT NULL,
            state       VARCHAR NOT NULL,
            started_ns  BIGINT  NOT NULL
        );
        """,
    ),
)

EXECUTION: Migrations = (
    (
        1,
        # No keys: the single writer keeps ids unique, and an index costs more per commit
        # than every other write of an order put together.
        "orders, their journal of transitions, and fills",
        """
        CREATE TABLE orders (
            client_order_id VARCHAR NOT NULL,
            account         VARCHAR NOT NULL,
            strategy_id     VARCHAR NOT NULL,
            symbol          VARCHAR NOT NULL,
            side            VARCHAR NOT NULL,
            quantity        DOUBLE  NOT NULL,
            type            VARCHAR NOT NULL,
            limit_price     DOUBLE,
            stop_price      DOUBLE,
            tif             VARCHAR NOT NULL,
            parent_id       VARCHAR,
            oco_id          VARCHAR,
            status          VARCHAR NOT NULL,
            filled          DOUBLE  NOT NULL,
            avg_price       DOUBLE  NOT NULL,
            created_ns      BIGINT  NOT NULL,
            updated_ns      BIGINT  NOT NULL,
            reason          VARCHAR NOT NULL,
            cid             VARCHAR NOT NULL
        );
        CREATE TABLE order_events (
            client_order_id VARCHAR NOT NULL,
            ts_ns           BIGINT  NOT NULL,
            status          VARCHAR NOT NULL,
            filled          DOUBLE  NOT NULL,
            avg_price       DOUBLE  NOT NULL,
            reason          VARCHAR NOT NULL,
            cid             VARCHAR NOT NULL
        );
        CREATE TABLE fills (
            trade_id        VARCHAR NOT NULL,
            client_order_id VARCHAR NOT NULL,
            account         VARCHAR NOT NULL,
            strategy_id     VARCHAR NOT NULL,
            symbol          VARCHAR NOT NULL,
            side            VARCHAR NOT NULL,
            quantity        DOUBLE  NOT NULL,
            price           DOUBLE  NOT NULL,
            commission      DOUBLE  NOT NULL,
            ts_ns           BIGINT  NOT NULL,
            cid             VARCHAR NOT NULL
        );
        """,
    ),
    (
        2,
        "the last write-ahead log group fed into these tables (bifrost.store.orders)",
        """
        CREATE TABLE journal_applied (seq BIGINT NOT NULL);
        INSERT INTO journal_applied VALUES (0);
        """,
    ),
    (
        3,
        "every difference reconciliation found between a venue and the journal",
        """
        CREATE TABLE venue_audit (
            ts_ns   BIGINT  NOT NULL,
            venue   VARCHAR NOT NULL,
            kind    VARCHAR NOT NULL,
            subject VARCHAR NOT NULL,
            details JSON    NOT NULL
        );
        """,
    ),
)

PORTFOLIO: Migrations = (
    (
        1,
        "the money ledger, lots for FIFO, and equity snapshots",
        """
        CREATE TABLE ledger (
            entry_id   BIGINT  NOT NULL,
            ts_ns      BIGINT  NOT NULL,
            account    VARCHAR NOT NULL,
            kind       VARCHAR NOT NULL,
            currency   VARCHAR NOT NULL,
            amount     DECIMAL(38, 8) NOT NULL,
            symbol     VARCHAR,
            quantity   DECIMAL(38, 8),
            price      DECIMAL(38, 8),
            trade_id   VARCHAR,
            cid        VARCHAR NOT NULL
        );
        CREATE TABLE equity_snapshots (
            ts_ns      BIGINT  NOT NULL,
            account    VARCHAR NOT NULL,
            cash       DECIMAL(38, 8) NOT NULL,
            equity     DECIMAL(38, 8) NOT NULL,
            realized   DECIMAL(38, 8) NOT NULL,
            unrealized DECIMAL(38, 8) NOT NULL
        );
        """,
    ),
)

RISK: Migrations = (
    (
        1,
        "persisted limits and trading state, and the breaches log",
        """
        CREATE TABLE settings (
            name  VARCHAR PRIMARY KEY,
            value JSON    NOT NULL
        );
        CREATE TABLE breaches (
            ts_ns   BIGINT  NOT NULL,
            rule    VARCHAR NOT NULL,
            symbol  VARCHAR,
            message VARCHAR NOT NULL,
            cid     VARCHAR NOT NULL
        );
        """,
    ),
)

COMPLIANCE: Migrations = (
    (
        1,
        "the hash-chained audit trail and the rules an admin changed at run time",
        """
        CREATE TABLE audit (
            record_id BIGINT  NOT NULL,
            ts_ns     BIGINT  NOT NULL,
            kind      VARCHAR NOT NULL,
            source    VARCHAR NOT NULL,
            event_key VARCHAR NOT NULL,
            cid       VARCHAR NOT NULL,
            body      VARCHAR NOT NULL,
            prev_hash VARCHAR NOT NULL,
            hash      VARCHAR NOT NULL
        );
        CREATE TABLE rules (
            name  VARCHAR PRIMARY KEY,
            value JSON    NOT NULL
        );
        """,
    ),
)

ML: Migrations = (
    (
        1,
        "the model registry (signed serialized models) and the predictions made with them",
        """
        CREATE TABLE models (
            name         VARCHAR NOT NULL,
            version      INTEGER NOT NULL,
            kind         VARCHAR NOT NULL,
            params       JSON    NOT NULL,
            features     VARCHAR[] NOT NULL,
            symbols      VARCHAR[] NOT NULL,
            timeframe    VARCHAR NOT NULL,
            horizon      INTEGER NOT NULL,
            train_start  BIGINT  NOT NULL,
            train_end    BIGINT  NOT NULL,
            rows         BIGINT  NOT NULL,
            metrics      JSON    NOT NULL,
            created_ns   BIGINT  NOT NULL,
            code_version VARCHAR NOT NULL,
            model        BLOB    NOT NULL,
            signature    VARCHAR NOT NULL,
            PRIMARY KEY (name, version)
        );
        CREATE TABLE predictions (
            ts_ns       BIGINT  NOT NULL,
            symbol      VARCHAR NOT NULL,
            model       VARCHAR NOT NULL,
            version     INTEGER NOT NULL,
            bar_ts      BIGINT  NOT NULL,
            score       DOUBLE  NOT NULL,
            probability DOUBLE  NOT NULL,
            source      VARCHAR NOT NULL
        );
        """,
    ),
)

NEWS: Migrations = (
    (
        1,
        "news articles with their lexicon scores, and their symbols for rolling sentiment",
        """
        CREATE TABLE articles (
            article_id  VARCHAR PRIMARY KEY,
            ts          BIGINT  NOT NULL,
            received_ns BIGINT  NOT NULL,
            source      VARCHAR NOT NULL,
            title       VARCHAR NOT NULL,
            summary     VARCHAR NOT NULL,
            url         VARCHAR,
            symbols     VARCHAR[] NOT NULL,
            score       DOUBLE  NOT NULL
        );
        CREATE TABLE article_symbols (
            symbol     VARCHAR NOT NULL,
            ts         BIGINT  NOT NULL,
            article_id VARCHAR NOT NULL,
            score      DOUBLE  NOT NULL
        );
        """,
    ),
)

ANALYTICS: Migrations = (
    (
        1,
        "generated reports (tearsheets of runs and of the live account)",
        """
        CREATE TABLE reports (
            report_id  VARCHAR PRIMARY KEY,
            kind       VARCHAR NOT NULL,
            subject    VARCHAR NOT NULL,
            created_ns BIGINT  NOT NULL,
            report     JSON    NOT NULL
        );
        """,
    ),
)

MICRO: Migrations = (
    (
        1,
        "microstructure metrics of each symbol, one row per published update",
        """
        CREATE TABLE micro_metrics (
            ts_ns               BIGINT  NOT NULL,
            symbol              VARCHAR NOT NULL,
            best_bid            DOUBLE,
            best_ask            DOUBLE,
            mid                 DOUBLE,
            spread              DOUBLE,
            spread_bps          DOUBLE,
            microprice          DOUBLE,
            bid_depth           DOUBLE,
            ask_depth           DOUBLE,
            imbalance           DOUBLE,
            top_imbalance       DOUBLE,
            realized_vol        DOUBLE,
            trade_sign_autocorr DOUBLE,
            kyle_lambda         DOUBLE,
            amihud              DOUBLE,
            vpin                DOUBLE,
            quotes              BIGINT  NOT NULL,
            trades              BIGINT  NOT NULL
        );
        """,
    ),
)

LATEST_VERSION = DATA[-1][0]
"""Schema version of the data store (kept for callers that only know that store)."""
