-- Partner ↔ group memberships with their validity (the UK left the EU on 2020-01-31; RCEP entered
-- into force country by country from 2022). Join through this table to total a group; never add a
-- group's own row to its members.
select
    group_code,
    group_name_en,
    group_name_zh,
    gacc_code as partner_code,
    member_from,
    member_to,
    source
from {{ ref('partner_groups') }}
