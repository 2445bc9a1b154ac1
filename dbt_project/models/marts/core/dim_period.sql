-- One row per month from 2014-01 to the end of the rate seed: calendar attributes, the HS revision
-- in force, GACC's combined January–February release marker and the CNY/USD rate of the month.
with months as (
    select cast(make_date(year, month, 1) as date) as period, cny_per_usd, method as rate_method
    from {{ ref('cny_usd_rates') }}
)

select
    m.period,
    cast(extract(year from m.period) as integer) as year,
    cast(extract(month from m.period) as integer) as month,
    cast(extract(quarter from m.period) as integer) as quarter,
    {{ year_month('m.period') }} as year_month,
    cast(extract(year from m.period) as {{ dbt.type_string() }}) || '-Q' || cast(extract(quarter from m.period) as {{ dbt.type_string() }}) as year_quarter,
    -- GACC publishes January and February together (Spring Festival): both months carry the marker
    -- of their combined release, and a combined figure must never be split between them.
    extract(month from m.period) <= 2 as is_jan_feb,
    case when extract(month from m.period) <= 2 then cast(extract(year from m.period) as {{ dbt.type_string() }}) || '-01/02' end as jan_feb_group,
    r.hs_revision,
    m.cny_per_usd,
    m.rate_method
from months as m
left join {{ ref('hs_revisions') }} as r
    on m.period >= r.valid_from and (r.valid_to is null or m.period <= r.valid_to)
