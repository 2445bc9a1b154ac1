{{ config(meta={'dagster': {'ref': {'name': 'trade_by_region_year'}}}) }}
-- The YRD row of each year is exactly Shanghai + Jiangsu + Zhejiang + Anhui.
with provinces as (
    select y.year, sum(y.total_cny) as total_cny, count(*) as provinces
    from {{ ref('trade_by_region_year') }} as y
    inner join {{ ref('provinces') }} as p on y.region_code = p.region_code and p.is_yrd
    where y.region_level = 'province'
    group by y.year
)

select p.year, p.total_cny as sum_of_provinces, y.total_cny as yrd
from provinces as p
inner join {{ ref('trade_by_region_year') }} as y on y.region_code = 'YRD' and y.year = p.year
where p.provinces = 4 and y.total_cny <> p.total_cny
