"""The market: the Parquet bar store, importers, calendar and clock, bar derivation, quality and indicators."""
