{{ config(**incremental_by_month('period')) }}
-- depends_on: {{ ref('int_release_months') }}
-- depends_on: {{ ref('int_build_months') }} (built first: it reads this model's watermark before the build moves it)
-- Every vintage of every detail figure with the interval it was the latest known value:
--   select … from marts.fct_trade_monthly_history
--   where valid_from <= timestamp '2025-03-01' and (valid_to is null or valid_to > timestamp '2025-03-01')
-- gives the detail as it was known on 1 March 2025. valid_from is when the release was received.
with vintages as (
    select
        region_level,
        region_code,
        product_level as hs_level,
        product_code,
        coalesce(partner_code, 'ALL') as partner_code,
        coalesce(trade_mode_code, 'ALL') as trade_mode_code,
        month_period as period,
        flow,
        currency as reported_currency,
        release_id,
        received_at,
        release_loaded_at,
        sum(value) as value
    from {{ ref('stg_gacc__query_export_rows') }}
    where product_code is not null and region_code is not null and {{ months_to_rebuild('month_period') }}
    group by all
)

select
    region_level,
    region_code,
    hs_level,
    product_code,
    partner_code,
    trade_mode_code,
    period,
    flow,
    reported_currency,
    {{ money('value') }} as value,
    release_id,
    received_at as valid_from,
    lead(received_at) over (
        partition by region_level, region_code, hs_level, product_code, partner_code, trade_mode_code, period, flow, reported_currency
        order by received_at, release_id
    ) as valid_to,
    release_loaded_at
from vintages
where period is not null
