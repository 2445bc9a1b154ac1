{{ config(meta={'dagster': {'ref': {'name': 'new_three_codes'}}}) }}
-- The new-three series run on across the 2022 HS switch only if each category's HS2022 codes are
-- the successors of its HS2017 codes: an HS2022 code the concordance maps must map only onto
-- HS2017 codes of the same category; one it does not map must be listed, unchanged, under HS2017.
with hs2022 as (
    select category, hs8 from {{ ref('new_three_codes') }}
    where hs_revision = 'HS2022' and included and hs8 is not null
),

hs2017 as (
    select category, hs8 from {{ ref('new_three_codes') }}
    where hs_revision = 'HS2017' and included and hs8 is not null
),

mapped as (
    select n.category, n.hs8, c.to_code
    from hs2022 as n
    inner join {{ ref('hs_concordance_2017_2022') }} as c on c.from_code = n.hs8 and c.from_revision = 'HS2022'
)

select category, hs8, to_code, 'maps outside its category' as problem
from mapped as m
where not exists (select 1 from hs2017 as o where o.category = m.category and o.hs8 = m.to_code)
union all
select n.category, n.hs8, null, 'unmapped HS2022 code not listed under HS2017'
from hs2022 as n
where not exists (select 1 from mapped as m where m.hs8 = n.hs8)
    and not exists (select 1 from hs2017 as o where o.category = n.category and o.hs8 = n.hs8)
