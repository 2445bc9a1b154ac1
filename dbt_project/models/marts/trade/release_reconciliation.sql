-- Published totals against the sums of detail, per release, period, region and flow:
-- - detail_vs_location_table: a query export's rows summed (province or China) against the
--   location table's month figure; city-level detail against the city's month from its city table;
-- - city_table_total_vs_location_table: a district city table's 合计 against the province's
--   year-to-date in the location table;
-- - cities_vs_city_table_total: the cities of a district city table against its own 合计;
-- - months_vs_ytd: a location table's year-to-date against the sum of that year's month figures.
-- status: ok = equal within the rounding of the published figures (5,000 yuan per 万元-rounded
-- figure involved, plus 5,000); revised = not equal, but equal to an earlier vintage of the
-- published figure, or within the band GACC's own revisions stay in (1%; 10% for months vs YTD,
-- whose later figures carry revisions of earlier months); mismatch = anything else (a missing or
-- duplicated month, swapped export/import labels, a wrong unit).
-- A query export whose detail spans fewer than 10 HS chapters is a partial query (a product list),
-- not a breakdown of the total: it is not reconciled. USD detail is not reconciled against CNY tables.
with detail as (
    select * from {{ ref('int_query_export_release_sums') }}
),

published_month as (
    select region_level, region_code, period, 'export' as flow, exports_cny as published_cny from {{ ref('int_region_month') }}
    union all
    select region_level, region_code, period, 'import', imports_cny from {{ ref('int_region_month') }}
),

-- Month figures of every vintage of the location table, for the 'revised' test.
location_vintages as (
    select
        case when row_kind = 'nation' then 'nation' else 'province' end as region_level,
        case when row_kind = 'nation' then 'CN' else province_code end as region_code,
        period_end as period,
        'export' as flow,
        exports_month_cny as published_cny
    from {{ ref('stg_gacc__location_table_rows') }}
    where row_kind in ('nation', 'province') and is_single_month
    union all
    select
        case when row_kind = 'nation' then 'nation' else 'province' end,
        case when row_kind = 'nation' then 'CN' else province_code end,
        period_end,
        'import',
        imports_month_cny
    from {{ ref('stg_gacc__location_table_rows') }}
    where row_kind in ('nation', 'province') and is_single_month
),

detail_checks as (
    select
        'detail_vs_location_table' as check_name,
        d.release_id, d.period, d.region_level, d.region_code, d.flow,
        p.published_cny, d.derived_cny,
        1 as rounded_figures,
        1.0 as revision_band_pct,
        exists (
            select 1 from location_vintages as v
            where v.region_level = d.region_level and v.region_code = d.region_code and v.period = d.period
                and v.flow = d.flow and abs(v.published_cny - d.derived_cny) <= 10000
        ) as matches_earlier_vintage
    from detail as d
    inner join published_month as p
        on d.region_level = p.region_level and d.region_code = p.region_code and d.period = p.period and d.flow = p.flow
    where d.period is not null and d.chapters >= 10 and p.published_cny is not null
),

city_tables as (
    select c.*
    from {{ ref('stg_gacc__city_table_rows') }} as c
    inner join {{ ref('stg_gacc__releases') }} as r on c.release_id = r.release_id and r.status in ('loaded', 'superseded')
),

city_flows as (
    select release_id, period_end as period, row_kind, region_code, province_code, 'export' as flow, exports_ytd_cny as ytd_cny from city_tables
    union all
    select release_id, period_end, row_kind, region_code, province_code, 'import', imports_ytd_cny from city_tables
),

city_total_checks as (
    select
        'city_table_total_vs_location_table' as check_name,
        t.release_id, t.period, 'province' as region_level, t.province_code as region_code, t.flow,
        case t.flow when 'export' then l.exports_ytd_cny else l.imports_ytd_cny end as published_cny,
        t.ytd_cny as derived_cny,
        1 as rounded_figures,
        1.0 as revision_band_pct,
        false as matches_earlier_vintage
    from city_flows as t
    inner join {{ ref('int_region_month') }} as l
        on l.region_level = 'province' and l.region_code = t.province_code and l.period = t.period
    where t.row_kind = 'province_total'
),

cities_checks as (
    select
        'cities_vs_city_table_total' as check_name,
        t.release_id, t.period, 'province' as region_level, t.province_code as region_code, t.flow,
        t.ytd_cny as published_cny,
        sum(c.ytd_cny) as derived_cny,
        0 as rounded_figures,
        1.0 as revision_band_pct,
        false as matches_earlier_vintage
    from city_flows as t
    inner join city_flows as c
        on c.release_id = t.release_id and c.flow = t.flow and c.period = t.period and c.row_kind = 'city'
    where t.row_kind = 'province_total'
    group by all
),

-- months_vs_ytd: only where every month of the year so far has its own month figure (a combined
-- January–February release has none).
region_months as (
    select * from {{ ref('int_region_month') }} where region_level in ('nation', 'province')
),

months_checks as (
    select
        'months_vs_ytd' as check_name,
        m.release_id, m.period, m.region_level, m.region_code, f.flow,
        case f.flow when 'export' then m.exports_ytd_cny else m.imports_ytd_cny end as published_cny,
        sum(case f.flow when 'export' then e.exports_cny else e.imports_cny end) as derived_cny,
        m.month as rounded_figures,
        10.0 as revision_band_pct,
        false as matches_earlier_vintage
    from region_months as m
    cross join (select 'export' as flow union all select 'import') as f
    inner join region_months as e
        on e.region_level = m.region_level and e.region_code = m.region_code and e.year = m.year and e.month <= m.month
    group by all
    having count(case f.flow when 'export' then e.exports_cny else e.imports_cny end) = m.month
),

checks as (
    select * from detail_checks
    union all select * from city_total_checks
    union all select * from cities_checks
    union all select * from months_checks
)

select
    c.release_id,
    c.check_name,
    c.period,
    c.region_level,
    c.region_code,
    c.flow,
    {{ money('c.published_cny') }} as published_cny,
    {{ money('c.derived_cny') }} as derived_cny,
    {{ money('c.derived_cny - c.published_cny') }} as residual_cny,
    cast(round(100.0 * (c.derived_cny - c.published_cny) / nullif(c.published_cny, 0), 4) as decimal(18, 4)) as residual_pct,
    {{ money('5000 * (c.rounded_figures + 1)') }} as tolerance_cny,
    case
        when abs(c.derived_cny - c.published_cny) <= 5000 * (c.rounded_figures + 1) then 'ok'
        when c.matches_earlier_vintage then 'revised'
        when abs(c.derived_cny - c.published_cny) <= c.revision_band_pct / 100 * abs(c.published_cny) then 'revised'
        else 'mismatch'
    end as status,
    r.file_name,
    r.is_sample as is_sample_data
from checks as c
inner join {{ ref('stg_gacc__releases') }} as r on c.release_id = r.release_id
where c.published_cny is not null and c.derived_cny is not null
