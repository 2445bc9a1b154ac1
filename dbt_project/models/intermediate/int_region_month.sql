-- One row per region and month from the location table: the nation (CN), each province, and
-- the YRD as the sum of its four provinces (only months where all four are present).
-- Monthly values are the month column as published; the same month derived from year-to-date
-- differences is kept beside it, because GACC revises earlier months inside later YTD figures.
with region_rows as (
    select
        case when row_kind = 'nation' then 'CN' else province_code end as region_code,
        period_end as period,
        is_single_month,
        release_id,
        is_sample,
        case when is_single_month then exports_month_cny end as exports_cny,
        case when is_single_month then imports_month_cny end as imports_cny,
        case when is_single_month then total_month_cny end as total_cny,
        exports_ytd_cny,
        imports_ytd_cny,
        total_ytd_cny
    from {{ ref('stg_gacc__location_table_rows') }}
    where row_kind in ('nation', 'province')
),

yrd as (
    select
        'YRD' as region_code,
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

all_regions as (
    select * from region_rows
    union all
    select * from yrd
)

select
    *,
    extract(year from period)::integer as year,
    extract(month from period)::integer as month,
    -- The month implied by the YTD series: YTD minus the previous month's YTD (January: the YTD).
    case
        when extract(month from period) = 1 then total_ytd_cny
        when lag(period) over w = period - interval 1 month then total_ytd_cny - lag(total_ytd_cny) over w
    end as total_from_ytd_cny,
    case
        when extract(month from period) = 1 then exports_ytd_cny
        when lag(period) over w = period - interval 1 month then exports_ytd_cny - lag(exports_ytd_cny) over w
    end as exports_from_ytd_cny,
    case
        when extract(month from period) = 1 then imports_ytd_cny
        when lag(period) over w = period - interval 1 month then imports_ytd_cny - lag(imports_ytd_cny) over w
    end as imports_from_ytd_cny
from all_regions
window w as (partition by region_code, extract(year from period) order by period)
