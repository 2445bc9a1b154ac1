-- Products at every HS level: section → chapter → hs4 → hs6 → China's hs8, keyed by
-- (hs_level, product_code). Sections and chapters come from the HS nomenclature seeds; hs4/hs6/hs8
-- rows are the codes seen in releases plus the new-three codes. hs_revisions lists the HS editions
-- (dim_period.hs_revision) of the months a code was reported in; a code reported under both HS2017
-- and HS2022 may have changed its scope: hs_concordance says how.
with seen as (
    select p.hs_level, p.product_code, min(p.period) as first_period, max(p.period) as last_period,
           {{ sorted_distinct_list('d.hs_revision', ',') }} as hs_revisions
    from {{ ref('int_product_month') }} as p
    left join {{ ref('dim_period') }} as d on p.period = d.period
    where p.hs_level in ('hs8', 'hs6', 'hs4')
    group by p.hs_level, p.product_code
),

new_three_codes as (
    select 'hs8' as hs_level, hs8 as product_code from {{ ref('new_three_codes') }} where included and hs8 is not null
    union
    select 'hs6', hs6 from {{ ref('new_three_codes') }} where included
),

codes as (
    select hs_level, product_code from seen
    union
    select hs_level, product_code from new_three_codes
),

-- The latest name a release printed for each code, Chinese and English apart (the latest release
-- wins; between names of one release, the greatest, so that the choice never depends on row order).
-- From the codes each month's rows carry (int_query_export_codes), not from every raw row.
-- A name is Chinese when it has a CJK unified ideograph (U+4E00–U+9FFF).
{%- set chinese_character = '[\\x{4E00}-\\x{9FFF}]' %}
names_from_releases as (
    select
        code as product_code,
        {{ max_by_non_null('case when ' ~ contains_match('name', chinese_character) ~ ' then name end', ['received_at', 'name']) }} as name_zh,
        {{ max_by_non_null('case when not ' ~ contains_match('name', chinese_character) ~ ' then name end', ['received_at', 'name']) }} as name_en
    from {{ ref('int_query_export_codes') }}
    where code_kind = 'product' and name is not null
    group by code
),

new_three_names as (
    select coalesce(hs8, hs6) as product_code, any_value(description_zh) as name_zh, any_value(description_en) as name_en
    from {{ ref('new_three_codes') }}
    group by coalesce(hs8, hs6)
),

-- A code belongs to a new-three category when the category's seed includes it: an hs8 listed as
-- included, or an hs6 whose every listed code is included (854140 is not: only 85414020 of it is
-- solar cells).
new_three_hs8 as (
    select hs8 as product_code, any_value(category) as category
    from {{ ref('new_three_codes') }} where included and hs8 is not null group by hs8
),

new_three_hs6 as (
    select hs6 as product_code, any_value(category) as category
    from {{ ref('new_three_codes') }} group by hs6 having bool_and(included)
),

detail as (
    select
        c.hs_level,
        c.product_code,
        coalesce(r.name_zh, n.name_zh) as product_name_zh,
        coalesce(r.name_en, n.name_en) as product_name_en,
        case when c.hs_level = 'hs8' then c.product_code end as hs8,
        case when c.hs_level in ('hs8', 'hs6') then left(c.product_code, 6) end as hs6,
        left(c.product_code, 4) as hs4,
        left(c.product_code, 2) as chapter,
        s.hs_revisions,
        s.first_period,
        s.last_period,
        case c.hs_level when 'hs8' then n8.category when 'hs6' then n6.category end as new_three_category
    from codes as c
    left join seen as s on c.hs_level = s.hs_level and c.product_code = s.product_code
    left join names_from_releases as r on c.product_code = r.product_code
    left join new_three_names as n on c.product_code = n.product_code
    left join new_three_hs8 as n8 on c.product_code = n8.product_code
    left join new_three_hs6 as n6 on c.product_code = n6.product_code
)

select
    'section' as hs_level,
    s.section as product_code,
    s.name_zh as product_name_zh,
    s.name_en as product_name_en,
    cast(null as {{ dbt.type_string() }}) as hs8,
    cast(null as {{ dbt.type_string() }}) as hs6,
    cast(null as {{ dbt.type_string() }}) as hs4,
    cast(null as {{ dbt.type_string() }}) as chapter,
    s.section,
    cast(null as {{ dbt.type_string() }}) as hs_revisions,
    cast(null as date) as first_period,
    cast(null as date) as last_period,
    cast(null as {{ dbt.type_string() }}) as new_three_category
from {{ ref('hs_sections') }} as s
union all
select
    'chapter', c.chapter, c.name_zh, c.name_en, null, null, null, c.chapter, s.section,
    null, null, null, null
from {{ ref('hs_chapters') }} as c
inner join {{ ref('hs_sections') }} as s on c.section_number = s.section_number
union all
select
    d.hs_level, d.product_code, d.product_name_zh, d.product_name_en, d.hs8, d.hs6,
    case when d.hs_level in ('hs8', 'hs6', 'hs4') then d.hs4 end,
    d.chapter, s.section, d.hs_revisions, d.first_period, d.last_period, d.new_three_category
from detail as d
left join {{ ref('hs_chapters') }} as c on d.chapter = c.chapter
left join {{ ref('hs_sections') }} as s on c.section_number = s.section_number
