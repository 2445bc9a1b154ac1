-- Exports of the "new three" (新三样): electric passenger vehicles, lithium-ion batteries and solar
-- cells, by region and year. Grain: region_level × region_code × year × category; every category
-- appears for every region-year with HS8 detail (0 when none was exported).
-- Membership is the seed new_three_codes (China's HS8 codes, per HS revision). Solar cells were
-- 85414020 under HS2017 and are 85414200 + 85414300 under HS2022: hs_concordance maps one onto the
-- other, so the series runs on across the 2022 switch (the test new_three_codes_follow_concordance).
with codes as (
    select distinct hs8, category
    from {{ ref('new_three_codes') }}
    where included and hs8 is not null
),

categories as (
    select * from (values
        ('electric_vehicles', '电动载人汽车', 'Electric passenger vehicles'),
        ('lithium_ion_batteries', '锂离子蓄电池', 'Lithium-ion batteries'),
        ('solar_cells', '太阳能电池', 'Solar cells')
    ) as c(category, category_name_zh, category_name_en)
),

region_years as (
    select region_level, region_code, year, count(distinct period) as months_covered, bool_or(is_sample) as is_sample
    from {{ ref('int_product_month') }}
    where hs_level = 'hs8' and flow = 'export'
    group by region_level, region_code, year
),

exports as (
    select
        p.region_level, p.region_code, p.year, c.category,
        sum(p.value_cny) as exports_cny,
        sum(p.value_usd) as exports_usd,
        {{ sorted_distinct_list('p.product_code', '+') }} as hs8_codes
    from {{ ref('int_product_month') }} as p
    inner join codes as c on p.hs_level = 'hs8' and p.product_code = c.hs8
    where p.flow = 'export'
    group by p.region_level, p.region_code, p.year, c.category
),

filled as (
    select
        ry.region_level, ry.region_code, ry.year, ry.months_covered, ry.is_sample,
        k.category, k.category_name_zh, k.category_name_en,
        coalesce(e.exports_cny, 0) as exports_cny,
        coalesce(e.exports_usd, 0) as exports_usd,
        e.hs8_codes
    from region_years as ry
    cross join categories as k
    left join exports as e
        on ry.region_level = e.region_level and ry.region_code = e.region_code
        and ry.year = e.year and k.category = e.category
)

select
    f.region_level,
    f.region_code,
    g.region_name_zh,
    g.region_name_en,
    f.year,
    cast(f.months_covered as integer) as months_covered,
    f.category,
    f.category_name_zh,
    f.category_name_en,
    f.hs8_codes,
    {{ money('f.exports_cny') }} as exports_cny,
    {{ money('f.exports_usd') }} as exports_usd,
    case when prior.months_covered = f.months_covered
        then {{ pct_change('f.exports_cny', 'prior.exports_cny') }} end as exports_yoy_pct,
    case when r.months_covered = f.months_covered
        then {{ pct_share('f.exports_cny', 'r.exports_cny') }} end as share_of_region_exports_pct,
    f.is_sample as is_sample_data
from filled as f
left join filled as prior
    on f.region_level = prior.region_level and f.region_code = prior.region_code
    and prior.year = f.year - 1 and f.category = prior.category
left join {{ ref('trade_by_region_year') }} as r
    on f.region_level = r.region_level and f.region_code = r.region_code and f.year = r.year
left join {{ ref('dim_region') }} as g on f.region_level = g.region_level and f.region_code = g.region_code
