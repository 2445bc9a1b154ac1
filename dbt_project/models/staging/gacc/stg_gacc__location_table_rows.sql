-- Location-table rows of every vintage, typed. A repeated identical row (e.g. 总值 printed
-- twice) is dropped here; which vintage is current is decided in int_release_vintages.
select
    r.release_id,
    r.source_row,
    r.period_start,
    r.period_end,
    r.period_start = r.period_end as is_single_month,
    r.row_kind,
    r.location_name,
    r.province_code,
    rel.is_sample,
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
inner join {{ ref('stg_gacc__releases') }} as rel on r.release_id = rel.release_id
where not r.is_duplicate
