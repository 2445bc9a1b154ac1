{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_gacc__query_export_rows'}}}) }}
-- depends_on: {{ ref('stg_gacc__query_export_rows') }} (the check stays on the staging asset)
-- Codes the reference seeds do not know (a new partner, trade mode or registration code) are kept
-- and loaded; this warning lists them so that the seeds can be extended. Read from the codes each
-- month's rows carry (int_query_export_codes, every vintage like the staging view), not from every raw row.
select code_kind, code, any_value(name) as name, sum(row_count) as row_count
from {{ ref('int_query_export_codes') }}
where is_unknown and code_kind in ('partner', 'trade_mode', 'registration')
group by code_kind, code
