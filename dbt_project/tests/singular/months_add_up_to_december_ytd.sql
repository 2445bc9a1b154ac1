{{ config(meta={'dagster': {'ref': {'name': 'trade_by_region_month'}}}) }}
-- The twelve published months of each region and year add up to its December year-to-date.
-- GACC revises earlier months inside later YTD figures: in the real 2024 tables the gap is
-- ≤0.5% for China and the YRD provinces but reaches 6% for small provinces (Qinghai). A gap of
-- more than 10% means a missing, duplicated or swapped month: an error. Sample data match exactly.
{{ months_vs_december_ytd(0.10) }}
