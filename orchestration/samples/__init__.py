"""Deterministic SAMPLE releases for development and tests (never official GACC figures).

`orchestration.samples.location_tables` writes GACC monthly location tables
(进出口商品收发货人所在地总值表) in the real CSV layout, calibrated to the published
annual totals in `dbt_project/seeds/published_annual_totals.csv`.
Command line: `python -m orchestration.samples --out DIR [--first 2018-01] [--last 2025-12]`.
"""
