"""DuckDB storage: the schema in one place, and one module per table family."""
