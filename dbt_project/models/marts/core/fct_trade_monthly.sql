{{ config(**incremental_by_month('period')) }}
-- depends_on: {{ ref('int_release_months') }}
-- depends_on: {{ ref('int_build_months') }} (built first: it reads this model's watermark before the build moves it)
-- The trade fact: one row per region × product × partner × trade mode × month × flow, latest
-- vintage (marts.fct_trade_monthly_history answers "as known on date D").
-- Sum only within one region_level and one hs_level: provinces carry HS8 detail, cities HS-chapter
-- detail, and a coarser level is never the sum of a finer one by accident.
select
    d.region_level,
    d.region_code,
    d.statistical_scope,
    d.hs_level,
    d.product_code,
    p.hs_revision,
    d.partner_code,
    d.trade_mode_code,
    d.period,
    d.year,
    d.month,
    d.flow,
    d.value_cny,
    d.value_usd,
    d.reported_currency,
    d.quantity_1,
    d.unit_1,
    d.quantity_2,
    d.unit_2,
    d.release_id,
    d.source_row,
    d.received_at as known_since,
    d.is_sample as is_sample_data,
    d.release_loaded_at
from {{ ref('int_trade_detail_month') }} as d
left join {{ ref('dim_period') }} as p on d.period = p.period
where {{ months_to_rebuild('d.period') }}
-- Stored in month order (the profile lets DuckDB reorder unordered inserts): each row group then
-- holds a few months of one region level, so a query on a month range or a year skips the rest
-- by the zone maps instead of scanning the whole fact.
order by d.period, d.region_level, d.region_code, d.flow
