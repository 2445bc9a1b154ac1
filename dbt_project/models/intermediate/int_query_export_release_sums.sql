{{ config(**incremental_by_month('period')) }}
-- depends_on: {{ ref('int_release_months') }}
-- depends_on: {{ ref('int_build_months') }} (built first: it reads this model's watermark before the build moves it)
-- Each query-export release's own detail summed by month, region and flow (every vintage, not only
-- the latest): what release_reconciliation compares with the published totals. Only CNY releases
-- (the tables are in yuan) and rows placed in a month.
select
    release_id,
    month_period as period,
    region_level,
    region_code,
    flow,
    sum(value) as derived_cny,
    count(distinct hs_chapter) as chapters,
    max(release_loaded_at) as release_loaded_at
from {{ ref('stg_gacc__query_export_rows') }}
where currency = 'CNY' and region_code is not null and product_code is not null and month_period is not null
    and {{ months_to_rebuild('month_period') }}
group by release_id, month_period, region_level, region_code, flow
