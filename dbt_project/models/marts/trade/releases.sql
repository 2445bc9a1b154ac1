-- Every release file the warehouse has received, with what became of it.
select
    release_id,
    file_name,
    sha256,
    format,
    scope,
    period_start,
    period_end,
    flow,
    currency,
    unit,
    source,
    received_at,
    loaded_at,
    status,
    error,
    row_count,
    rejected_row_count,
    superseded_by,
    is_sample as is_sample_data
from {{ ref('stg_gacc__releases') }}
