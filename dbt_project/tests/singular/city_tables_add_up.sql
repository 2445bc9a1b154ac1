{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'trade_by_region_month'}}}) }}
-- A district city table's cities add up to its 合计 row, and its 合计 equals the province's
-- year-to-date in the location table of the same month (within 1%): a warning names the table.
with city_sums as (
    select c.release_id, c.period_end, c.province_code,
           sum(c.total_ytd_cny) filter (where c.row_kind = 'city') as cities_ytd,
           max(c.total_ytd_cny) filter (where c.row_kind = 'province_total') as table_total_ytd
    from {{ ref('stg_gacc__city_table_rows') }} as c
    inner join {{ ref('int_release_vintages') }} as v on c.release_id = v.release_id and v.is_latest
    group by c.release_id, c.period_end, c.province_code
)

select s.*, m.total_ytd_cny as location_table_ytd
from city_sums as s
left join {{ ref('trade_by_region_month') }} as m
    on m.region_level = 'province' and m.region_code = s.province_code and m.period = s.period_end
where abs(s.cities_ytd - s.table_total_ytd) > 0.01 * s.table_total_ytd
   or abs(s.table_total_ytd - m.total_ytd_cny) > 0.01 * m.total_ytd_cny
