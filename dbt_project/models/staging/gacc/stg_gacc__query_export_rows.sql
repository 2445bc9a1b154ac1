-- Online-query-platform exports (数据在线查询), typed, with unknown codes flagged (never dropped:
-- a new partner or trade-mode code shows up in a check, not as missing money).
-- A file without a month column covers its release's whole period: period is NULL there.
select
    r.release_id,
    r.source_row,
    r.period,
    rel.period_start as release_period_start,
    rel.period_end as release_period_end,
    r.flow,
    r.currency,
    r.hs8,
    left(r.hs8, 6) as hs6,
    r.product_name,
    r.partner_code,
    r.partner_name,
    r.trade_mode_code,
    r.trade_mode_name,
    r.registration_code,
    r.registration_name,
    r.quantity_1,
    r.unit_1,
    r.quantity_2,
    r.unit_2,
    r.value,
    rel.is_sample,
    rel.received_at,
    r.partner_code is not null and p.gacc_code is null as is_unknown_partner,
    r.trade_mode_code is not null and m.trade_mode_code is null as is_unknown_trade_mode,
    r.registration_code is not null and pr.region_code is null as is_unknown_registration
from {{ source('raw', 'query_export_rows') }} as r
inner join {{ ref('stg_gacc__releases') }} as rel on r.release_id = rel.release_id
left join {{ ref('partners') }} as p on r.partner_code = p.gacc_code
left join {{ ref('trade_modes') }} as m on r.trade_mode_code = m.trade_mode_code
left join {{ ref('provinces') }} as pr on r.registration_code || '0000' = pr.region_code
