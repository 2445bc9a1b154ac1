-- UN Comtrade, a second source: reporter 156 is China. Values in US dollars (CIF for imports, FOB
-- for exports, primaryValue the reported one). Flows X, M, RX (re-export), RM (re-import).
select
    r.release_id,
    r.source_row,
    r.period,
    r.freq,
    r.reporter_code,
    r.flow_code,
    r.partner_code,
    r.partner_iso,
    r.partner2_code,
    r.classification_code,
    r.cmd_code,
    r.customs_code,
    r.mot_code,
    r.qty_unit_code,
    r.qty,
    r.net_wgt,
    r.cif_value_usd,
    r.fob_value_usd,
    r.primary_value_usd,
    r.is_aggregate,
    rel.received_at
from {{ source('raw_comtrade', 'comtrade_rows') }} as r
inner join {{ ref('stg_gacc__releases') }} as rel on r.release_id = rel.release_id
