-- Every vintage of the monthly nation and province figures, with the time it was the current one:
-- "as known on date D" = known_from <= D and (known_until is null or known_until > D).
select
    case when l.row_kind = 'nation' then 'CN' else l.province_code end as region_code,
    case when l.row_kind = 'nation' then 'nation' else 'province' end as region_level,
    l.period_end as period,
    {{ money("case when l.is_single_month then l.exports_month_cny end") }} as exports_cny,
    {{ money("case when l.is_single_month then l.imports_month_cny end") }} as imports_cny,
    {{ money("case when l.is_single_month then l.total_month_cny end") }} as total_cny,
    {{ money('l.exports_ytd_cny') }} as exports_ytd_cny,
    {{ money('l.imports_ytd_cny') }} as imports_ytd_cny,
    {{ money('l.total_ytd_cny') }} as total_ytd_cny,
    l.release_id,
    v.vintage_number,
    v.known_from,
    v.known_until,
    v.is_latest
from {{ ref('stg_gacc__location_table_rows') }} as l
inner join {{ ref('int_release_vintages') }} as v on l.release_id = v.release_id
where l.row_kind in ('nation', 'province')
