-- Online-query-platform exports (数据在线查询), typed, with unknown codes flagged (never dropped:
-- a new partner or trade-mode code shows up in a check, not as missing money).
-- A file without a month column covers its release's whole period: period is NULL there.
-- The commodity code is at the level the query asked for (2, 4, 6 or 8 digits); the 注册地 code
-- places the row: none = China as a whole, 2 digits = a province, 4 digits = a prefecture city,
-- 5 digits = a prefecture plus GACC's zone-type digit (rolled up to the city).
with typed as (
    select
        r.*,
        case length(r.product_code)
            when 2 then 'chapter' when 4 then 'hs4' when 6 then 'hs6' when 8 then 'hs8'
        end as product_level,
        case
            when r.registration_code is null then 'nation'
            when length(r.registration_code) = 2 then 'province'
            when length(r.registration_code) in (4, 5) then 'city'
        end as region_level,
        case
            when r.registration_code is null then 'CN'
            when length(r.registration_code) = 2 then r.registration_code || '0000'
            when length(r.registration_code) in (4, 5) then left(r.registration_code, 4) || '00'
        end as region_code
    from {{ source('raw', 'query_export_rows') }} as r
)

select
    r.release_id,
    r.source_row,
    r.period,
    -- The month a row belongs to: its own month, or its release's when the file covers one month;
    -- NULL for a multi-month total without a month column (it cannot be placed in a month).
    coalesce(r.period, case when rel.period_start = rel.period_end then rel.period_start end) as month_period,
    rel.period_start as release_period_start,
    rel.period_end as release_period_end,
    r.flow,
    r.currency,
    r.product_code,
    r.product_level,
    case when r.product_level = 'hs8' then r.product_code end as hs8,
    case when r.product_level in ('hs8', 'hs6') then left(r.product_code, 6) end as hs6,
    case when r.product_level in ('hs8', 'hs6', 'hs4') then left(r.product_code, 4) end as hs4,
    left(r.product_code, 2) as hs_chapter,
    r.product_name,
    r.partner_code,
    r.partner_name,
    r.trade_mode_code,
    r.trade_mode_name,
    r.registration_code,
    r.registration_name,
    r.region_level,
    r.region_code,
    -- 注册地 is where the trading enterprise is registered: the enterprise-location scope of the
    -- location tables, never the port or the domestic destination/source of the goods.
    'enterprise_location' as statistical_scope,
    r.quantity_1,
    r.unit_1,
    r.quantity_2,
    r.unit_2,
    r.value,
    rel.is_sample,
    rel.received_at,
    rel.loaded_at as release_loaded_at,
    r.partner_code is not null and p.gacc_code is null as is_unknown_partner,
    r.trade_mode_code is not null and m.trade_mode_code is null as is_unknown_trade_mode,
    r.registration_code is not null and coalesce(pr.region_code, ci.region_code) is null as is_unknown_registration
from typed as r
inner join {{ ref('stg_gacc__releases') }} as rel on r.release_id = rel.release_id
left join {{ ref('partners') }} as p on r.partner_code = p.gacc_code
left join {{ ref('trade_modes') }} as m on r.trade_mode_code = m.trade_mode_code
left join {{ ref('provinces') }} as pr on r.region_level = 'province' and r.region_code = pr.region_code
left join {{ ref('cities') }} as ci on r.region_level = 'city' and r.region_code = ci.region_code
