"""News and sentiment: ingest articles (RSS/Atom feeds, JSON-lines and CSV files, a
synthetic generator), tag them with symbols, score them with a finance lexicon and roll
the scores up per symbol. Everything here works without a daemon."""
