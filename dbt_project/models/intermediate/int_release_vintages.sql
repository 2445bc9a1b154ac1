-- Every loaded vintage of a complete table (location, city, preliminary tables) and the time it
-- was the current one: known_from = when it was received, known_until = when the next vintage of
-- the same table arrived (NULL for the current one). "As known on date D" is
-- known_from <= D and (known_until is null or known_until > D).
select
    release_id,
    format,
    scope,
    flow,
    currency,
    variant,
    period_start,
    period_end,
    received_at as known_from,
    lead(received_at) over vintage as known_until,
    lead(received_at) over vintage is null as is_latest,
    -- bigint on every engine (Spark's row_number is an int)
    cast(row_number() over (
        partition by format, scope, flow, currency, variant, period_start, period_end order by received_at, release_id
    ) as bigint) as vintage_number
from {{ ref('stg_gacc__releases') }}
where status in ('loaded', 'superseded')
  and format in ('gacc_location_table', 'gacc_city_table', 'gacc_preliminary_country')
window vintage as (
    partition by format, scope, flow, currency, variant, period_start, period_end order by received_at, release_id
)
