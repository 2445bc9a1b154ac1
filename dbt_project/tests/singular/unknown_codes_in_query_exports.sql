{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_gacc__query_export_rows'}}}) }}
-- Codes the reference seeds do not know (a new partner, trade mode or registration code) are kept
-- and loaded; this warning lists them so that the seeds can be extended.
select 'partner' as code_kind, partner_code as code, any_value(partner_name) as name, count(*) as row_count
from {{ ref('stg_gacc__query_export_rows') }} where is_unknown_partner group by partner_code
union all
select 'trade_mode', trade_mode_code, any_value(trade_mode_name), count(*)
from {{ ref('stg_gacc__query_export_rows') }} where is_unknown_trade_mode group by trade_mode_code
union all
select 'registration', registration_code, any_value(registration_name), count(*)
from {{ ref('stg_gacc__query_export_rows') }} where is_unknown_registration group by registration_code
