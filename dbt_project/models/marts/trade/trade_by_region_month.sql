-- Monthly trade by region (nation, YRD, province, city), in yuan. See _trade__models.yml for each column.
select
    m.region_code,
    d.region_name_zh,
    d.region_name_en,
    m.region_level,
    m.period,
    m.year,
    m.month,
    {{ money('m.exports_cny') }} as exports_cny,
    {{ money('m.imports_cny') }} as imports_cny,
    {{ money('m.total_cny') }} as total_cny,
    {{ money('m.exports_cny - m.imports_cny') }} as balance_cny,
    {{ money('m.exports_ytd_cny') }} as exports_ytd_cny,
    {{ money('m.imports_ytd_cny') }} as imports_ytd_cny,
    {{ money('m.total_ytd_cny') }} as total_ytd_cny,
    {{ money('m.total_from_ytd_cny') }} as total_from_ytd_cny,
    {{ money('m.total_cny - m.total_from_ytd_cny') }} as total_revision_residual_cny,
    not m.is_single_month as is_combined_jan_feb,
    m.release_id,
    m.is_sample as is_sample_data
from {{ ref('int_region_month') }} as m
inner join {{ ref('dim_region') }} as d on m.region_code = d.region_code and m.region_level = d.region_level
