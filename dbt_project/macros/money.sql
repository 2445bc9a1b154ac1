{#- The one money type of the marts: yuan (or dollars) to the fen, wide enough for any sum. -#}
{% macro money(expression) -%}
    cast({{ expression }} as decimal(20, 2))
{%- endmacro %}

{#- A percentage change, NULL when the base is missing or zero. -#}
{% macro pct_change(current, previous) -%}
    cast(round(100.0 * ({{ current }} - {{ previous }}) / nullif({{ previous }}, 0), 2) as decimal(18, 2))
{%- endmacro %}

{#- A share in percent, NULL when the whole is missing or zero. -#}
{% macro pct_share(part, whole) -%}
    cast(round(100.0 * {{ part }} / nullif({{ whole }}, 0), 2) as decimal(18, 2))
{%- endmacro %}
