"""The market: the Parquet bar store, importers, the exchange calendar and the clock, bar derivation, quality scoring and indicators."""
