{{ config(**incremental_by_month('period')) }}
-- depends_on: {{ ref('int_release_months') }}
-- depends_on: {{ ref('int_build_months') }} (built first: it reads this model's watermark before the build moves it)
-- Monthly trade by region and product at every HS level (hs8, hs6, hs4, chapter, section), summed
-- over partners and trade modes.
-- - Each detail row is rolled up to its own level and every coarser one. When a region-month has
--   detail at several levels (an HS8 query and a chapter query), each level is taken from the finest
--   source, so nothing is counted twice.
-- - YRD = the four provinces summed, for months where all four have detail.
-- - Shanghai the city is Shanghai the province: its province detail stands in for city detail.
with base as (
    select region_level, region_code, period, flow, hs_level as source_level, product_code,
           sum(value_cny) as value_cny, sum(value_usd) as value_usd, bool_or(is_sample) as is_sample,
           max(release_loaded_at) as release_loaded_at
    from {{ ref('int_trade_detail_month') }}
    where {{ months_to_rebuild('period') }}
    group by all
),

levels as (
    select * from (values
        ('hs8', 8, 1), ('hs6', 6, 2), ('hs4', 4, 3), ('chapter', 2, 4)
    ) as l(hs_level, code_length, fineness)
),

rolled as (
    select
        b.region_level, b.region_code, b.period, b.flow, l.hs_level,
        left(b.product_code, l.code_length) as product_code,
        sl.fineness as source_fineness,
        b.value_cny, b.value_usd, b.is_sample
    from base as b
    inner join levels as sl on b.source_level = sl.hs_level
    inner join levels as l on l.fineness >= sl.fineness
    union all
    select
        b.region_level, b.region_code, b.period, b.flow, 'section' as hs_level,
        s.section as product_code,
        sl.fineness as source_fineness,
        b.value_cny, b.value_usd, b.is_sample
    from base as b
    inner join levels as sl on b.source_level = sl.hs_level
    inner join {{ ref('hs_chapters') }} as c on left(b.product_code, 2) = c.chapter
    inner join {{ ref('hs_sections') }} as s on c.section_number = s.section_number
),

finest as (
    select region_level, region_code, period, flow, hs_level, product_code,
           sum(value_cny) as value_cny, sum(value_usd) as value_usd, bool_or(is_sample) as is_sample
    from rolled
    group by region_level, region_code, period, flow, hs_level, product_code, source_fineness
    qualify source_fineness = min(source_fineness) over (partition by region_level, region_code, period, flow, hs_level)
),

with_shanghai_city as (
    select * from finest
    union all
    select 'city', region_code, period, flow, hs_level, product_code, value_cny, value_usd, is_sample
    from finest as f
    where f.region_level = 'province' and f.region_code = '310000'
        and not exists (
            select 1 from finest as c
            where c.region_level = 'city' and c.region_code = '310000' and c.period = f.period and c.flow = f.flow
        )
),

yrd_provinces as (
    select f.*
    from finest as f
    inner join {{ ref('provinces') }} as p on f.region_level = 'province' and f.region_code = p.region_code and p.is_yrd
),

yrd_complete as (
    select period, flow, hs_level
    from yrd_provinces
    group by period, flow, hs_level
    having count(distinct region_code) = 4
),

yrd as (
    select 'yrd' as region_level, 'YRD' as region_code, f.period, f.flow, f.hs_level, f.product_code,
           sum(f.value_cny) as value_cny, sum(f.value_usd) as value_usd, bool_or(f.is_sample) as is_sample
    from yrd_provinces as f
    inner join yrd_complete as c on f.period = c.period and f.flow = c.flow and f.hs_level = c.hs_level
    group by f.period, f.flow, f.hs_level, f.product_code
),

-- The newest release behind this batch: the watermark of months_to_rebuild.
batch as (
    select max(release_loaded_at) as release_loaded_at from base
),

all_rows as (
    select region_level, region_code, period, flow, hs_level, product_code, value_cny, value_usd, is_sample
    from with_shanghai_city
    union all
    select region_level, region_code, period, flow, hs_level, product_code, value_cny, value_usd, is_sample
    from yrd
)

select
    a.region_level, a.region_code, a.period,
    cast(extract(year from a.period) as integer) as year,
    cast(extract(month from a.period) as integer) as month,
    a.flow, a.hs_level, a.product_code,
    {{ money('a.value_cny') }} as value_cny,
    {{ money('a.value_usd') }} as value_usd,
    a.is_sample,
    b.release_loaded_at
from all_rows as a
cross join batch as b
