{{ config(meta={'dagster': {'ref': {'name': 'trade_by_region_month'}}}) }}
-- Zone rows are parts of provinces and must never be added: if they were, the provinces of a
-- month would sum to more than the national total.
select m.period, sum(m.total_ytd_cny) as provinces_ytd, max(n.total_ytd_cny) as nation_ytd
from {{ ref('trade_by_region_month') }} as m
inner join {{ ref('trade_by_region_month') }} as n on n.region_code = 'CN' and n.period = m.period
where m.region_level = 'province'
group by m.period
having sum(m.total_ytd_cny) > 1.001 * max(n.total_ytd_cny)
