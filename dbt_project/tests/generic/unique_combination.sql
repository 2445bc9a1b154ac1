{#- The columns together identify a row: no two rows share the same combination.
    months_column (a fact incremental by month whose grain includes the month): only the months this
    build recomputed (int_build_months) are checked. Two rows sharing a key share its month, and
    delete+insert by month leaves every other month as it was when its own build checked it; a
    --full-refresh checks them all. On tens of millions of rows this is what keeps a build of one
    month from grouping the whole history. -#}
{% test unique_combination(model, columns, months_column=none) %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
{%- if months_column %}
where {{ months_column }} in (select period from {{ ref('int_build_months') }})
{%- endif %}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
