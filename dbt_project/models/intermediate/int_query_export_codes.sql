{{ config(**incremental_by_month('month_key')) }}
-- depends_on: {{ ref('int_release_months') }}
-- depends_on: {{ ref('int_build_months') }} (built first: it reads this model's watermark before the build moves it)
-- The codes the query-export rows of each month carry (partners, trade modes, 注册地, products) with
-- the name printed beside each, whether the seeds know it, and how many rows: what dim_partner,
-- dim_trade_mode, dim_product and the unknown-codes warning read, so that a build of one month
-- does not read every raw row of the history. Every vintage's rows (like the staging view).
-- Incremental by month (macro months_to_rebuild); month_key as in int_query_export_latest.
with rows as (
    select coalesce(period, release_period_start) as month_key, *
    from {{ ref('stg_gacc__query_export_rows') }}
    where {{ months_to_rebuild('coalesce(period, release_period_start)') }}
),

codes as (
    select month_key, 'partner' as code_kind, partner_code as code, partner_name as name,
           is_unknown_partner as is_unknown, received_at, release_loaded_at
    from rows where partner_code is not null
    union all
    select month_key, 'trade_mode', trade_mode_code, trade_mode_name, is_unknown_trade_mode, received_at, release_loaded_at
    from rows where trade_mode_code is not null
    union all
    select month_key, 'registration', registration_code, registration_name, is_unknown_registration, received_at, release_loaded_at
    from rows where registration_code is not null
    union all
    select month_key, 'product', product_code, product_name, false, received_at, release_loaded_at
    from rows where product_code is not null
)

select
    month_key,
    code_kind,
    code,
    name,
    is_unknown,
    received_at,
    count(*) as row_count,
    max(release_loaded_at) as release_loaded_at
from codes
group by month_key, code_kind, code, name, is_unknown, received_at
