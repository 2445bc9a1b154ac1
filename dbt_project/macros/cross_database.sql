{#- Where DuckDB and Spark SQL differ, one macro per idea with an implementation per engine
    (adapter.dispatch: duckdb__ for the warehouse file, spark__ for the `spark` targets). Everything
    else in the models is SQL both engines read alike; dbt's own cross-database macros
    (dbt.type_string …) cover types. -#}

{#- The first days of the months from `first` to `last` (dates, inclusive), one row each: a
    set-returning expression for a select list. -#}
{% macro month_series(first, last) -%}
    {{ return(adapter.dispatch('month_series')(first, last)) }}
{%- endmacro %}

{% macro duckdb__month_series(first, last) -%}
    cast(unnest(generate_series({{ first }}, {{ last }}, interval 1 month)) as date)
{%- endmacro %}

{% macro spark__month_series(first, last) -%}
    {#- A sequence of dates is already dates; Spark takes no generator inside a cast. -#}
    explode(sequence({{ first }}, {{ last }}, interval 1 month))
{%- endmacro %}

{#- 'YYYY-MM' of a date. -#}
{% macro year_month(date_expression) -%}
    {{ return(adapter.dispatch('year_month')(date_expression)) }}
{%- endmacro %}

{% macro duckdb__year_month(date_expression) -%}
    strftime({{ date_expression }}, '%Y-%m')
{%- endmacro %}

{% macro spark__year_month(date_expression) -%}
    date_format({{ date_expression }}, 'yyyy-MM')
{%- endmacro %}

{#- True when the text contains a match of the regular expression `pattern` (a Python string;
    RE2 on DuckDB, java.util.regex on Spark: keep to the syntax both read). -#}
{% macro contains_match(text_expression, pattern) -%}
    {{ return(adapter.dispatch('contains_match')(text_expression, pattern)) }}
{%- endmacro %}

{% macro duckdb__contains_match(text_expression, pattern) -%}
    regexp_matches({{ text_expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__contains_match(text_expression, pattern) -%}
    {#- Spark's string literals read backslash escapes: double them to pass the pattern as is. -#}
    {{ text_expression }} rlike '{{ pattern | replace("\\", "\\\\") }}'
{%- endmacro %}

{#- The value of `value` on the row where `ordering` is greatest, among the rows whose value is not
    NULL (DuckDB's arg_max; Spark's max_by would return a NULL value). `ordering` is one expression
    or a list compared left to right. -#}
{% macro max_by_non_null(value, ordering) -%}
    {{ return(adapter.dispatch('max_by_non_null')(value, ordering)) }}
{%- endmacro %}

{% macro duckdb__max_by_non_null(value, ordering) -%}
    {%- if ordering is string -%}
    arg_max({{ value }}, {{ ordering }})
    {%- else -%}
    arg_max({{ value }}, { {%- for part in ordering %}'k{{ loop.index }}': {{ part }}{% if not loop.last %}, {% endif %}{% endfor -%} })
    {%- endif -%}
{%- endmacro %}

{% macro spark__max_by_non_null(value, ordering) -%}
    {%- set key = ordering if ordering is string else 'struct(' ~ (ordering | join(', ')) ~ ')' -%}
    max_by({{ value }}, case when ({{ value }}) is not null then {{ key }} end)
{%- endmacro %}

{#- The distinct values of a text column joined in ascending order with `separator`; NULL when
    there are none. -#}
{% macro sorted_distinct_list(text_expression, separator) -%}
    {{ return(adapter.dispatch('sorted_distinct_list')(text_expression, separator)) }}
{%- endmacro %}

{% macro duckdb__sorted_distinct_list(text_expression, separator) -%}
    string_agg(distinct {{ text_expression }}, '{{ separator }}' order by {{ text_expression }})
{%- endmacro %}

{% macro spark__sorted_distinct_list(text_expression, separator) -%}
    string_agg(distinct {{ text_expression }}, '{{ separator }}') within group (order by {{ text_expression }})
{%- endmacro %}

{#- How a model incremental by month replaces its months, per engine: DuckDB deletes the months of
    the new rows and inserts them (delete+insert on the month column); Spark partitions the table
    by month and overwrites the partitions the new rows fall in (insert_overwrite, dynamic
    partition overwrite on Parquet). Either way a month the build did not recompute is left as it
    was, and a recomputed month is replaced whole. Use: {{ '{{' }} config(**incremental_by_month('period')) {{ '}}' }} -#}
{% macro incremental_by_month(month_column) -%}
    {%- set common = {'materialized': 'incremental', 'on_schema_change': 'sync_all_columns'} -%}
    {%- if target.type == 'spark' -%}
        {{ return(dict(common, incremental_strategy='insert_overwrite', partition_by=[month_column])) }}
    {%- else -%}
        {{ return(dict(common, incremental_strategy='delete+insert', unique_key=month_column)) }}
    {%- endif -%}
{%- endmacro %}
