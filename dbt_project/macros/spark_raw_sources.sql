{#- On Spark the raw tables are the Parquet files `trade export-raw` writes (one folder per table):
    before the models run, every dbt source is registered as an external table over its folder, so
    the models read `source()` unchanged. Dropping an external table leaves its files; re-creating
    it each run picks up a new export (and a moved folder). Runs only when TRADE_RAW_PARQUET_DIR
    is set: on a cluster whose catalog already holds the raw tables, leave it unset. -#}
{% macro register_raw_parquet_sources() %}
{%- set folder = env_var('TRADE_RAW_PARQUET_DIR', '') | trim -%}
{%- if execute and target.type == 'spark' and folder -%}
    {%- for schema in graph.sources.values() | map(attribute='schema') | unique -%}
        {%- do run_query('create schema if not exists ' ~ schema) -%}
    {%- endfor -%}
    {%- for source in graph.sources.values() -%}
        {%- set relation = api.Relation.create(schema=source.schema, identifier=source.identifier) -%}
        {%- do run_query('drop table if exists ' ~ relation) -%}
        {%- do run_query("create table " ~ relation ~ " using parquet location '"
            ~ folder.rstrip('/') ~ '/' ~ source.identifier ~ "'") -%}
    {%- endfor -%}
{%- endif -%}
{%- endmacro %}
