{#- Incremental models rebuild whole months: the months of every release loaded since the model
    was last built (its max(release_loaded_at) is the watermark), plus the months a Dagster
    partition run asks for (first days of months, inclusive: the environment variables
    TRADE_BUILD_MIN_PERIOD / TRADE_BUILD_MAX_PERIOD the dbt asset sets, or vars min_period /
    max_period by hand: `dbt build --vars '{min_period: 2024-01-01, max_period: 2024-03-01}'`).
    The environment is read only at execution (`execute`): a value read while parsing would make
    dbt re-parse, and --vars that change on every build make it re-parse the whole project.
    A failed build is caught up by the next one: the watermark only moves when rows land.
    On a first build or --full-refresh everything is built. -#}
{% macro months_to_rebuild(period_expression) -%}
{%- set built_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list if is_incremental() else [] -%}
{#- A table built before the watermark column existed is rebuilt whole (on_schema_change adds the column). -#}
{%- if is_incremental() and 'release_loaded_at' in built_columns -%}
{%- set first, last = build_period_range() -%}
{#- One IN list, never `in (…) or between …`: a disjunction keeps DuckDB from filtering early, and
    every build of one month would scan the whole history. -#}
{{ period_expression }} in (
    select m.period
    from {{ ref('int_release_months') }} as m
    where m.loaded_at > (select coalesce(max(built.release_loaded_at), timestamp '1900-01-01') from {{ this }} as built)
    {%- if first and last %}
    union
    select {{ month_series("date '" ~ first ~ "'", "date '" ~ last ~ "'") }}
    {%- endif %}
)
{%- else -%}
true
{%- endif -%}
{%- endmacro %}

{#- The partition range of the build as (first, last) ISO dates, or (none, none). -#}
{% macro build_period_range() -%}
{%- if var('min_period', none) and var('max_period', none) -%}
{{ return((var('min_period'), var('max_period'))) }}
{%- elif execute and env_var('TRADE_BUILD_MIN_PERIOD', '') and env_var('TRADE_BUILD_MAX_PERIOD', '') -%}
{{ return((env_var('TRADE_BUILD_MIN_PERIOD'), env_var('TRADE_BUILD_MAX_PERIOD'))) }}
{%- endif -%}
{{ return((none, none)) }}
{%- endmacro %}
