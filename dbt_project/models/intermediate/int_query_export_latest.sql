{{ config(**incremental_by_month('month_key')) }}
{{ config(**in_work_database()) }}
-- depends_on: {{ ref('int_release_months') }}
-- depends_on: {{ ref('int_build_months') }} (built first: it reads this model's watermark before the build moves it)
-- Query exports are partial by nature (each query picks products, partners, months), so a newer
-- file replaces an older one row by row: for each natural key the value of the most recently
-- received release wins. Rows only an older file has stay (a revision that drops a row cannot be
-- told apart from a narrower query).
-- Incremental by month: only the months new releases touched are recomputed (macro months_to_rebuild).
select *, coalesce(period, release_period_start) as month_key
from {{ ref('stg_gacc__query_export_rows') }}
where {{ months_to_rebuild('coalesce(period, release_period_start)') }}
qualify release_id = first_value(release_id) over (
    partition by
        flow, currency, coalesce(period, release_period_start), release_period_end, product_code, partner_code,
        trade_mode_code, registration_code
    order by received_at desc, release_id desc
)
