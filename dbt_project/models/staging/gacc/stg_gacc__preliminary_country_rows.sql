-- GACC English preliminary release, table (4) by country/region. Group rows (EU, ASEAN, RCEP,
-- Belt and Road …) overlap with their members and with each other: never sum partner rows.
-- A combined January–February release has YTD values only (month values NULL), never split.
select
    r.release_id,
    r.source_row,
    r.period_start,
    r.period_end,
    r.currency,
    r.partner_label,
    r.partner_name,
    r.is_group,
    r.is_member,
    r.parent_group,
    r.total_month,
    r.total_ytd,
    r.exports_month,
    r.exports_ytd,
    r.imports_month,
    r.imports_ytd,
    r.total_ytd_yoy_pct,
    r.exports_ytd_yoy_pct,
    r.imports_ytd_yoy_pct,
    rel.is_sample
from {{ source('raw', 'preliminary_country_rows') }} as r
inner join {{ ref('stg_gacc__releases') }} as rel on r.release_id = rel.release_id
