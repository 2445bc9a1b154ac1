-- Yearly trade by region and product at every HS level. Grain: region_level × region_code × year ×
-- hs_level × product_code. Provinces, the YRD and China (when a release gives national detail)
-- come with HS8 detail rolled up; cities with HS-chapter detail (chapter and section only).
-- A product's share is of the region's published exports for the same months
-- (trade_by_region_year), so it stays true when the detail covers only part of the goods.
with yearly as (
    select
        region_level,
        region_code,
        year,
        hs_level,
        product_code,
        count(distinct period) as months_covered,
        max(month) as last_month,
        sum(case when flow = 'export' then value_cny end) as exports_cny,
        sum(case when flow = 'import' then value_cny end) as imports_cny,
        sum(case when flow = 'export' then value_usd end) as exports_usd,
        sum(case when flow = 'import' then value_usd end) as imports_usd,
        bool_or(is_sample) as is_sample
    from {{ ref('int_product_month') }}
    group by region_level, region_code, year, hs_level, product_code
),

-- Detail covers the same months of both years before a YoY is given: the months this region
-- reported at all that year (any product), so a product absent in some months still compares.
region_months as (
    select region_level, region_code, year, count(distinct period) as months_with_detail
    from {{ ref('int_product_month') }}
    group by region_level, region_code, year
)

select
    y.region_level,
    y.region_code,
    g.region_name_zh,
    g.region_name_en,
    'enterprise_location' as statistical_scope,
    y.year,
    cast(rm.months_with_detail as integer) as months_covered,
    y.hs_level,
    y.product_code,
    p.product_name_zh,
    p.product_name_en,
    dp.hs_revision,
    p.new_three_category,
    {{ money('coalesce(y.exports_cny, 0)') }} as exports_cny,
    {{ money('coalesce(y.imports_cny, 0)') }} as imports_cny,
    {{ money('coalesce(y.exports_usd, 0)') }} as exports_usd,
    {{ money('coalesce(y.imports_usd, 0)') }} as imports_usd,
    case when prm.months_with_detail = rm.months_with_detail
        then {{ pct_change('y.exports_cny', 'prior.exports_cny') }} end as exports_yoy_pct,
    case when prm.months_with_detail = rm.months_with_detail
        then {{ pct_change('y.imports_cny', 'prior.imports_cny') }} end as imports_yoy_pct,
    case when r.months_covered = rm.months_with_detail
        then {{ pct_share('coalesce(y.exports_cny, 0)', 'r.exports_cny') }} end as share_of_region_exports_pct,
    y.is_sample as is_sample_data
from yearly as y
inner join region_months as rm
    on y.region_level = rm.region_level and y.region_code = rm.region_code and y.year = rm.year
left join region_months as prm
    on y.region_level = prm.region_level and y.region_code = prm.region_code and prm.year = y.year - 1
left join yearly as prior
    on y.region_level = prior.region_level and y.region_code = prior.region_code and prior.year = y.year - 1
    and y.hs_level = prior.hs_level and y.product_code = prior.product_code
left join {{ ref('trade_by_region_year') }} as r
    on y.region_level = r.region_level and y.region_code = r.region_code and y.year = r.year
left join {{ ref('dim_region') }} as g on y.region_level = g.region_level and y.region_code = g.region_code
left join {{ ref('dim_product') }} as p on y.hs_level = p.hs_level and y.product_code = p.product_code
left join {{ ref('dim_period') }} as dp on dp.period = make_date(y.year, 1, 1)
