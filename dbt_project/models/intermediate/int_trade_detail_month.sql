{{ config(**incremental_by_month('period')) }}
{{ config(**in_work_database()) }}
-- depends_on: {{ ref('int_release_months') }}
-- depends_on: {{ ref('int_build_months') }} (built first: it reads this model's watermark before the build moves it)
-- Product detail by month at its natural grain (region × product × partner × trade mode × month ×
-- flow), latest value of every key, money in both yuan and dollars.
-- - A file without a month column counts only when it covers a single month; a multi-month total
--   cannot be placed in a month (it stays in staging).
-- - A dimension the query did not break down is 'ALL' (all partners / all trade modes), so a key is
--   never NULL and a relationship to the dimension always holds.
-- - The same key in a CNY and a USD edition: the CNY figure (GACC's own) wins, the other currency
--   is derived with the month's rate (dim_period.cny_per_usd).
with monthly as (
    select
        region_level,
        region_code,
        statistical_scope,
        product_level as hs_level,
        product_code,
        coalesce(partner_code, 'ALL') as partner_code,
        coalesce(trade_mode_code, 'ALL') as trade_mode_code,
        month_period as period,
        flow,
        currency,
        release_id,
        received_at,
        release_loaded_at,
        is_sample,
        -- a release can list one key twice (two 10-digit lines under one HS8): add them up
        sum(value) as value,
        sum(quantity_1) as quantity_1,
        any_value(unit_1) as unit_1,
        sum(quantity_2) as quantity_2,
        any_value(unit_2) as unit_2,
        min(source_row) as source_row
    from {{ ref('int_query_export_latest') }}
    where product_code is not null and region_code is not null and {{ months_to_rebuild('month_period') }}
    group by all
),

one_currency as (
    select *
    from monthly
    where period is not null
    qualify row_number() over (
        partition by region_level, region_code, hs_level, product_code, partner_code, trade_mode_code, period, flow
        order by currency = 'CNY' desc, received_at desc, release_id desc
    ) = 1
)

select
    d.region_level,
    d.region_code,
    d.statistical_scope,
    d.hs_level,
    d.product_code,
    d.partner_code,
    d.trade_mode_code,
    d.period,
    cast(extract(year from d.period) as integer) as year,
    cast(extract(month from d.period) as integer) as month,
    d.flow,
    d.currency as reported_currency,
    {{ money("case when d.currency = 'CNY' then d.value else d.value * r.cny_per_usd end") }} as value_cny,
    {{ money("case when d.currency = 'USD' then d.value else d.value / r.cny_per_usd end") }} as value_usd,
    d.quantity_1,
    d.unit_1,
    d.quantity_2,
    d.unit_2,
    d.release_id,
    d.source_row,
    d.received_at,
    d.release_loaded_at,
    d.is_sample
from one_currency as d
left join {{ ref('cny_usd_rates') }} as r
    on r.year = extract(year from d.period) and r.month = extract(month from d.period)
