"""Importing OHLCV bar files: read, validate, quarantine the bad rows, upsert the good ones.

`reader` turns one CSV or Parquet file into parsed rows, `validate` gives each row a
rejection reason or none, `calendar` finds the sessions a series lacks, and `engine`
runs a whole import in one transaction and reports what it did.
"""
