-- Every month each loaded release covers, with when it was loaded: the incremental models use it to
-- find the months that new releases touched (macro months_to_rebuild).
select
    release_id,
    {{ month_series('period_start', 'period_end') }} as period,
    loaded_at
from {{ ref('stg_gacc__releases') }}
where status in ('loaded', 'superseded') and period_start is not null and period_end is not null
