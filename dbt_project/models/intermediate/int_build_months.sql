-- The months this build recomputes in the models incremental by month (macro months_to_rebuild):
-- built before any of them (they depend on it), it finds the months of every release loaded after
-- the oldest of their watermarks, plus the months of the run's partition range; every month a
-- loaded release covers on a first build, a --full-refresh, or when one of them is missing.
-- The costly tests of the monthly facts (uniqueness of the grain) check only these months: a
-- month no build touched was checked when it was built, and delete+insert by month leaves it be.
{%- set ns = namespace(full=flags.FULL_REFRESH, watermarks=[]) -%}
{%- if execute -%}
    {%- for node in graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') -%}
        {%- if node.config.materialized == 'incremental' -%}
            {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
            {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list if relation else [] -%}
            {%- if 'release_loaded_at' in columns -%}
                {%- do ns.watermarks.append(relation) -%}
            {%- else -%}
                {%- set ns.full = true -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif -%}
{%- set first, last = build_period_range() %}

{% if ns.full or not ns.watermarks -%}
select distinct period from {{ ref('int_release_months') }}
{%- else -%}
select distinct m.period
from {{ ref('int_release_months') }} as m
where m.loaded_at > (
    select coalesce(min(watermark), timestamp '1900-01-01') from (
        {%- for relation in ns.watermarks %}
        select coalesce(max(release_loaded_at), timestamp '1900-01-01') as watermark from {{ relation }}
        {%- if not loop.last %} union all{% endif %}
        {%- endfor %}
    )
)
{%- endif %}
{%- if first and last %}
union
select {{ month_series("date '" ~ first ~ "'", "date '" ~ last ~ "'") }}
{%- endif %}
