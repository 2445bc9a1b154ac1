-- District city tables (e.g. Zhejiang by city): YEAR-TO-DATE values in yuan although GACC labels
-- them 当期; the unit was decided by magnitude at ingest (unit_applied), not by the footer label.
select
    r.release_id,
    r.source_row,
    r.period_start,
    r.period_end,
    r.row_kind,
    r.city_name,
    r.region_code,
    r.province_code,
    r.region_code is null as is_unknown_city,
    rel.is_sample,
    r.total_ytd_cny,
    r.exports_ytd_cny,
    r.imports_ytd_cny,
    r.total_ytd_yoy_pct,
    r.exports_ytd_yoy_pct,
    r.imports_ytd_yoy_pct,
    r.unit_applied
from {{ source('raw', 'city_table_rows') }} as r
inner join {{ ref('stg_gacc__releases') }} as rel on r.release_id = rel.release_id
