"""The Dagster code location of the YRD customs-trade warehouse."""
