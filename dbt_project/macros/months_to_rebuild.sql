{#- Incremental models rebuild whole months: the months of every release loaded since the model
    was last built (its max(release_loaded_at) is the watermark), plus the months a Dagster
    partition run asks for (vars min_period / max_period, first days of months, inclusive).
    A failed build is caught up by the next one: the watermark only moves when rows land.
    On a first build or --full-refresh everything is built. -#}
{% macro months_to_rebuild(period_expression) -%}
{%- set built_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list if is_incremental() else [] -%}
{#- A table built before the watermark column existed is rebuilt whole (on_schema_change adds the column). -#}
{%- if is_incremental() and 'release_loaded_at' in built_columns -%}
(
    {{ period_expression }} in (
        select m.period
        from {{ ref('int_release_months') }} as m
        where m.loaded_at > (select coalesce(max(built.release_loaded_at), timestamp '1900-01-01') from {{ this }} as built)
    )
    {%- if var('min_period', none) and var('max_period', none) %}
    or {{ period_expression }} between date '{{ var("min_period") }}' and date '{{ var("max_period") }}'
    {%- endif %}
)
{%- else -%}
true
{%- endif -%}
{%- endmacro %}
