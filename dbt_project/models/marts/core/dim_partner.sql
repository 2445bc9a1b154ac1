-- Trade partners: GACC's 3-digit codes with ISO 3166 alpha-3, UN M49, names and continent; codes
-- seen in releases but missing from the seed (flagged is_known = false); and 'ALL' for detail whose
-- query did not break partners down. Groups (EU, ASEAN, RCEP, Belt and Road) are memberships, never
-- partners: the flags below say who belongs today, bridge_partner_group when.
with seen as (
    select distinct code as partner_code, name as partner_name
    from {{ ref('int_query_export_codes') }}
    where code_kind = 'partner'
),

partners as (
    select gacc_code as partner_code, iso3, m49, name_zh as partner_name_zh, name_en as partner_name_en,
           continent, code_verified, true as is_known
    from {{ ref('partners') }}
    union all
    select s.partner_code, null, null, any_value(s.partner_name), null, null, false, false
    from seen as s
    where s.partner_code not in (select gacc_code from {{ ref('partners') }})
    group by s.partner_code
    union all
    select 'ALL', null, null, '全部贸易伙伴', 'All partners (not broken down)', null, true, true
),

-- One row per partner with its current memberships (a join, not correlated EXISTS in the select
-- list, which Spark's optimizer fails on beside the NOT IN above).
current_groups as (
    select
        gacc_code,
        bool_or(group_code = 'EU') as is_eu_member,
        bool_or(group_code = 'ASEAN') as is_asean_member,
        bool_or(group_code = 'RCEP') as is_rcep_member,
        bool_or(group_code = 'BRI') as is_belt_and_road_member
    from {{ ref('partner_groups') }}
    where member_to is null
    group by gacc_code
)

select
    p.*,
    coalesce(g.is_eu_member, false) as is_eu_member,
    coalesce(g.is_asean_member, false) as is_asean_member,
    coalesce(g.is_rcep_member, false) as is_rcep_member,
    coalesce(g.is_belt_and_road_member, false) as is_belt_and_road_member
from partners as p
left join current_groups as g on p.partner_code = g.gacc_code
