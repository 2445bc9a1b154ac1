-- One row per region and month: the nation (CN) and each province from the location table, the
-- YRD as the sum of its four provinces (only months where all four are present), and the cities
-- from the district city tables. Latest vintage of every table.
-- Monthly values of the nation and provinces are the month column as published; the month derived
-- from year-to-date differences is kept beside it, because GACC revises earlier months inside
-- later YTD figures.
with region_rows as (
    select
        case when l.row_kind = 'nation' then 'CN' else l.province_code end as region_code,
        case when l.row_kind = 'nation' then 'nation' else 'province' end as region_level,
        l.period_end as period,
        l.is_single_month,
        l.release_id,
        l.is_sample,
        case when l.is_single_month then l.exports_month_cny end as exports_cny,
        case when l.is_single_month then l.imports_month_cny end as imports_cny,
        case when l.is_single_month then l.total_month_cny end as total_cny,
        l.exports_ytd_cny,
        l.imports_ytd_cny,
        l.total_ytd_cny
    from {{ ref('stg_gacc__location_table_rows') }} as l
    inner join {{ ref('int_release_vintages') }} as v on l.release_id = v.release_id and v.is_latest
    where l.row_kind in ('nation', 'province')
),

yrd as (
    select
        'YRD' as region_code,
        'yrd' as region_level,
        r.period,
        bool_and(r.is_single_month) as is_single_month,
        min(r.release_id) as release_id,
        bool_or(r.is_sample) as is_sample,
        sum(r.exports_cny) as exports_cny,
        sum(r.imports_cny) as imports_cny,
        sum(r.total_cny) as total_cny,
        sum(r.exports_ytd_cny) as exports_ytd_cny,
        sum(r.imports_ytd_cny) as imports_ytd_cny,
        sum(r.total_ytd_cny) as total_ytd_cny
    from region_rows as r
    inner join {{ ref('provinces') }} as p on r.region_code = p.region_code and p.is_yrd
    group by r.period
    having count(*) = 4
),

location_regions as (
    select * from region_rows
    union all
    select * from yrd
),

with_derived as (
    select
        *,
        -- The month implied by the YTD series: YTD minus the previous month's YTD (January: the YTD).
        case
            when extract(month from period) = 1 then total_ytd_cny
            when lag(period) over w = period - interval 1 month then total_ytd_cny - lag(total_ytd_cny) over w
        end as total_from_ytd_cny
    from location_regions
    window w as (partition by region_code, extract(year from period) order by period)
)

select
    region_code, region_level, period, is_single_month, release_id, is_sample,
    exports_cny, imports_cny, total_cny, exports_ytd_cny, imports_ytd_cny, total_ytd_cny, total_from_ytd_cny,
    cast(extract(year from period) as integer) as year,
    cast(extract(month from period) as integer) as month
from with_derived
union all
select
    region_code, region_level, period, is_single_month, release_id, is_sample,
    exports_cny, imports_cny, total_cny, exports_ytd_cny, imports_ytd_cny, total_ytd_cny,
    total_cny as total_from_ytd_cny,  -- a city's month is itself derived from its YTD series
    cast(extract(year from period) as integer) as year,
    cast(extract(month from period) as integer) as month
from {{ ref('int_city_month') }}
