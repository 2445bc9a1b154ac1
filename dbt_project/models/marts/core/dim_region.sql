-- Regions of the enterprise-location scope (收发货人所在地): China, the YRD, the 31 provinces and
-- the 41 YRD cities. A region is identified by (region_level, region_code): Shanghai is both a
-- province and one of the 41 cities, with the same GB/T 2260 code 310000.
select
    'CN' as region_code,
    '中国' as region_name_zh,
    'China' as region_name_en,
    'nation' as region_level,
    cast(null as varchar) as parent_region_code,
    false as is_yrd
union all
select 'YRD', '长三角', 'Yangtze River Delta', 'yrd', 'CN', true
union all
select
    region_code,
    region_name_zh,
    region_name_en,
    'province' as region_level,
    case when is_yrd then 'YRD' else 'CN' end as parent_region_code,
    is_yrd
from {{ ref('provinces') }}
union all
select
    region_code,
    region_name_zh,
    region_name_en,
    'city' as region_level,
    province_code as parent_region_code,
    true as is_yrd
from {{ ref('cities') }}
