-- Location-table rows of the latest vintage of each period. Older vintages stay in raw
-- (status superseded); a repeated identical row (e.g. 总值 printed twice) is dropped here.
with vintages as (
    select
        release_id,
        period_start,
        period_end,
        is_sample,
        row_number() over (
            partition by format, scope, period_start, period_end
            order by received_at desc, release_id desc
        ) as vintage_rank
    from {{ ref('stg_gacc__releases') }}
    where format = 'gacc_location_table' and status in ('loaded', 'superseded')
)

select
    r.release_id,
    r.source_row,
    r.period_start,
    r.period_end,
    r.period_start = r.period_end as is_single_month,
    r.row_kind,
    r.location_name,
    r.province_code,
    v.is_sample,
    r.total_month_cny,
    r.total_ytd_cny,
    r.exports_month_cny,
    r.exports_ytd_cny,
    r.imports_month_cny,
    r.imports_ytd_cny,
    r.total_ytd_yoy_pct,
    r.exports_ytd_yoy_pct,
    r.imports_ytd_yoy_pct
from {{ source('raw', 'location_table_rows') }} as r
inner join vintages as v
    on r.release_id = v.release_id and v.vintage_rank = 1
where not r.is_duplicate
