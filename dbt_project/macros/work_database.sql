{#- The work database: the intermediate tables at the grain of query-export rows (every row of every
    release, tens of millions), which only the build reads. On DuckDB they live in a second file
    beside the live one, attached as `work` (profiles.yml, TRADE_WORK_DUCKDB_PATH), so that the live
    file, which every publish copies whole for analysts, holds only what they query: half the bytes
    at the scale of 96 months. On Spark every table is in the one catalog and this is a no-op.
    Use in a model: {{ '{{' }} config(**in_work_database()) {{ '}}' }}. The tag marks the models on
    every target (`dbt ls --select tag:work_database`), and keeps the config non-empty on Spark (dbt
    rejects an empty inline config). -#}
{% macro in_work_database() -%}
    {%- set tagged = {'tags': ['work_database']} -%}
    {{ return(dict(tagged, database='work') if target.type == 'duckdb' else tagged) }}
{%- endmacro %}

{#- on-run-start: the work file is derived state of one live file and means nothing beside another
    (a live file deleted and loaded again, a work file copied from elsewhere). Both files carry a
    pairing id; when they differ (or the work file is new) the work tables are dropped, so the
    incremental models rebuild them in full from this live file (int_build_months sees them
    missing), and the work file is paired again. Dropped through the adapter, which keeps dbt's
    relation cache (filled before this hook runs) true. Hooks run outside a transaction, so each
    statement commits on its own (a DuckDB transaction may write to one database only); the pairing
    is written last, and a kill before it leaves the files unpaired, which the next run repairs the
    same way. A warehouse built before the work file existed has these tables in the live file: they
    are dropped there (DuckDB reuses their blocks as the live file grows; the file need not shrink at once). -#}
{% macro pair_work_database() %}
{%- if execute and target.type == 'duckdb' -%}
    {%- do drop_work_models_in(target.database) -%}
    {%- do run_query("create table if not exists main.work_database_pairing as select cast(uuid() as varchar) as pairing_id") -%}
    {%- do run_query("create table if not exists work.main.work_database_pairing (pairing_id varchar)") -%}
    {%- set paired = run_query(
        "select (select min(pairing_id) from main.work_database_pairing)"
        ~ " is not distinct from (select min(pairing_id) from work.main.work_database_pairing)"
    ).columns[0].values()[0] -%}
    {%- if not paired -%}
        {%- do drop_work_models_in('work') -%}
        {%- do run_query("delete from work.main.work_database_pairing") -%}
        {%- do run_query("insert into work.main.work_database_pairing select pairing_id from main.work_database_pairing") -%}
    {%- endif -%}
{%- endif -%}
{% endmacro %}

{#- Drop the tables of the work-database models found in `database` (the live file's old copies, or
    the work file's own), through the adapter so that dbt's relation cache stays true. -#}
{% macro drop_work_models_in(database) %}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.database == 'work' -%}
        {%- set relation = adapter.get_relation(database=database, schema=node.schema, identifier=node.alias) -%}
        {%- if relation -%}
            {%- do adapter.drop_relation(relation) -%}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}
