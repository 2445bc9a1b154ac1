{#- A relationship on several columns at once: every (hs_level, product_code) of a fact exists in
    dim_product, every (region_level, region_code) in dim_region. dbt's built-in relationships test
    takes one column only. -#}
{% test relationship_on(model, columns, to, to_columns=none) %}
{%- set to_columns = to_columns or columns -%}
select {% for c in columns %}child.{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
from {{ model }} as child
where not exists (
    select 1 from {{ to }} as parent
    where {% for c in columns %}child.{{ c }} = parent.{{ to_columns[loop.index0] }}{% if not loop.last %} and {% endif %}{% endfor %}
)
{% endtest %}
