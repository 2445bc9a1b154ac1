-- Monthly city values from the district city tables' year-to-date series (the latest vintage of
-- each month): month M = YTD(M) − YTD(M−1), January = its YTD. A month whose previous month is
-- missing has no monthly value (its YTD stays known).
with latest as (
    select c.*
    from {{ ref('stg_gacc__city_table_rows') }} as c
    inner join {{ ref('int_release_vintages') }} as v on c.release_id = v.release_id and v.is_latest
    where c.row_kind = 'city' and c.region_code is not null
)

select
    region_code,
    'city' as region_level,
    period_end as period,
    true as is_single_month,
    release_id,
    is_sample,
    case
        when extract(month from period_end) = 1 then exports_ytd_cny
        when lag(period_end) over w = period_end - interval 1 month then exports_ytd_cny - lag(exports_ytd_cny) over w
    end as exports_cny,
    case
        when extract(month from period_end) = 1 then imports_ytd_cny
        when lag(period_end) over w = period_end - interval 1 month then imports_ytd_cny - lag(imports_ytd_cny) over w
    end as imports_cny,
    case
        when extract(month from period_end) = 1 then total_ytd_cny
        when lag(period_end) over w = period_end - interval 1 month then total_ytd_cny - lag(total_ytd_cny) over w
    end as total_cny,
    exports_ytd_cny,
    imports_ytd_cny,
    total_ytd_cny
from latest
window w as (partition by region_code, extract(year from period_end) order by period_end)
