-- Yearly trade by region. A year's value is the latest year-to-date figure (it carries GACC's
-- revisions of earlier months); YoY compares the same months of the previous year.
with latest_month as (
    select
        region_code,
        region_level,
        year,
        max(month) as months_covered,
        {{ max_by_non_null('exports_ytd_cny', 'month') }} as exports_cny,
        {{ max_by_non_null('imports_ytd_cny', 'month') }} as imports_cny,
        {{ max_by_non_null('total_ytd_cny', 'month') }} as total_cny,
        bool_or(is_sample) as is_sample
    from {{ ref('int_region_month') }}
    where total_ytd_cny is not null
    group by region_code, region_level, year
),

with_prior as (
    select
        cur.*,
        prior.exports_ytd_cny as prior_exports_cny,
        prior.imports_ytd_cny as prior_imports_cny,
        prior.total_ytd_cny as prior_total_cny
    from latest_month as cur
    left join {{ ref('int_region_month') }} as prior
        on cur.region_code = prior.region_code
        and cur.region_level = prior.region_level
        and prior.year = cur.year - 1
        and prior.month = cur.months_covered
)

select
    y.region_code,
    d.region_name_zh,
    d.region_name_en,
    y.region_level,
    y.year,
    y.months_covered,
    {{ money('y.exports_cny') }} as exports_cny,
    {{ money('y.imports_cny') }} as imports_cny,
    {{ money('y.total_cny') }} as total_cny,
    {{ money('y.exports_cny - y.imports_cny') }} as balance_cny,
    {{ pct_change('y.exports_cny', 'y.prior_exports_cny') }} as exports_yoy_pct,
    {{ pct_change('y.imports_cny', 'y.prior_imports_cny') }} as imports_yoy_pct,
    {{ pct_change('y.total_cny', 'y.prior_total_cny') }} as total_yoy_pct,
    {{ pct_share('y.total_cny', 'cn.total_cny') }} as share_of_national_pct,
    {{ money('sum(case when y.year >= 2018 then y.total_cny end) over (partition by y.region_code, y.region_level order by y.year rows between unbounded preceding and current row)') }}
        as cumulative_total_since_2018_cny,
    y.is_sample as is_sample_data
from with_prior as y
inner join {{ ref('dim_region') }} as d on y.region_code = d.region_code and y.region_level = d.region_level
left join latest_month as cn
    on cn.region_code = 'CN' and cn.year = y.year and cn.months_covered = y.months_covered
