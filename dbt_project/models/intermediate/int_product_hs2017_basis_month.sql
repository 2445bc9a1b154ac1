{{ config(**incremental_by_month('period')) }}
-- depends_on: {{ ref('int_release_months') }}
-- depends_on: {{ ref('int_build_months') }} (built first: it reads this model's watermark before the build moves it)
-- Trade on one code basis across the 2022 HS switch: months under HS2022 are converted to HS2017
-- codes with hs_concordance_2017_2022 (value × weight), months under HS2017 keep their codes.
-- It gives continuous series for the product groups the concordance covers (the new three, the
-- products of the sample catalogue): 85414200 + 85414300 (HS2022) continue 85414020 (HS2017).
-- Codes the concordance does not list keep their own code (same code in both editions).
-- Incremental by month like int_product_month, which it converts month by month.
with detail as (
    select p.region_level, p.region_code, p.period, p.flow, p.hs_level, p.product_code, p.value_cny, p.value_usd,
           d.hs_revision, p.release_loaded_at
    from {{ ref('int_product_month') }} as p
    inner join {{ ref('dim_period') }} as d on p.period = d.period
    where p.hs_level in ('hs8', 'hs6') and {{ months_to_rebuild('p.period') }}
),

concordance as (
    select from_code, to_code, weight, product_group
    from {{ ref('hs_concordance_2017_2022') }}
    where from_revision = 'HS2022' and to_revision = 'HS2017'
),

-- The reporting group of an HS2017 code, when every code mapped onto it belongs to that group:
-- 85414020 (all its HS2022 successors are solar cells) is solar_cells; 854140 is not (LEDs too).
hs2017_groups as (
    select to_code, max(product_group) as product_group
    from concordance
    group by to_code
    having bool_and(product_group is not null) and count(distinct product_group) = 1
),

converted as (
    select
        d.region_level,
        d.region_code,
        d.period,
        d.flow,
        d.hs_level,
        coalesce(c.to_code, d.product_code) as hs2017_code,
        sum(d.value_cny * coalesce(c.weight, 1)) as value_cny,
        sum(d.value_usd * coalesce(c.weight, 1)) as value_usd,
        max(d.release_loaded_at) as release_loaded_at
    from detail as d
    left join concordance as c on d.hs_revision = 'HS2022' and d.product_code = c.from_code
    group by d.region_level, d.region_code, d.period, d.flow, d.hs_level, coalesce(c.to_code, d.product_code)
)

select
    v.region_level,
    v.region_code,
    v.period,
    v.flow,
    v.hs_level,
    v.hs2017_code,
    g.product_group,
    {{ money('v.value_cny') }} as value_cny,
    {{ money('v.value_usd') }} as value_usd,
    v.release_loaded_at
from converted as v
left join hs2017_groups as g on v.hs2017_code = g.to_code
