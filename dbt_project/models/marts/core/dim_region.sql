-- Regions of the enterprise-location scope (收发货人所在地): China, the YRD, the 31 provinces and
-- the 41 YRD cities. A region is identified by (region_level, region_code): Shanghai is both a
-- province and one of the 41 cities, with the same GB/T 2260 code 310000.
with regions as (
    select
        'CN' as region_code,
        '中国' as region_name_zh,
        'China' as region_name_en,
        'nation' as region_level,
        cast(null as {{ dbt.type_string() }}) as parent_region_code,
        cast(null as {{ dbt.type_string() }}) as province_code,
        false as is_yrd
    union all
    select 'YRD', '长三角', 'Yangtze River Delta', 'yrd', 'CN', null, true
    union all
    select
        region_code,
        region_name_zh,
        region_name_en,
        'province' as region_level,
        case when is_yrd then 'YRD' else 'CN' end as parent_region_code,
        region_code as province_code,
        is_yrd
    from {{ ref('provinces') }}
    union all
    select
        region_code,
        region_name_zh,
        region_name_en,
        'city' as region_level,
        province_code as parent_region_code,
        province_code,
        true as is_yrd
    from {{ ref('cities') }}
)

select
    r.region_code,
    r.region_name_zh,
    r.region_name_en,
    r.region_level,
    r.parent_region_code,
    r.province_code,
    p.region_name_en as province_name_en,
    r.is_yrd,
    -- Every figure of this warehouse is in the enterprise-location scope (see dim_statistical_scope).
    'enterprise_location' as statistical_scope
from regions as r
left join {{ ref('provinces') }} as p on r.province_code = p.region_code
