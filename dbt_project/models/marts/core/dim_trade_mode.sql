-- Customs trade modes (贸易方式): the seed, codes seen in releases but not in it (is_known = false),
-- and 'ALL' for detail whose query did not break trade modes down.
select trade_mode_code, name_zh as trade_mode_name_zh, name_en as trade_mode_name_en,
       is_processing_trade, code_verified, true as is_known
from {{ ref('trade_modes') }}
union all
select code, any_value(name), null, null, false, false
from {{ ref('int_query_export_codes') }}
where code_kind = 'trade_mode'
    and code not in (select trade_mode_code from {{ ref('trade_modes') }})
group by code
union all
select 'ALL', '全部贸易方式', 'All trade modes (not broken down)', null, true, true
