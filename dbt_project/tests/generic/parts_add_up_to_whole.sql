{#- The whole equals the sum of its parts, row by row: e.g. the YRD's figure equals the sum of its
    four provinces' for every (year, product). Rows whose parts are incomplete are not judged here
    (the whole is only built when all parts are present). Returns the rows that differ. -#}
{% test parts_add_up_to_whole(model, value_column, level_column, whole_level, part_level, part_filter, match_columns, tolerance=0) %}
with wholes as (
    select {{ match_columns | join(', ') }}, {{ value_column }} as whole_value
    from {{ model }}
    where {{ level_column }} = '{{ whole_level }}'
),

parts as (
    select {{ match_columns | join(', ') }}, sum({{ value_column }}) as parts_value
    from {{ model }}
    where {{ level_column }} = '{{ part_level }}' and {{ part_filter }}
    group by {{ match_columns | join(', ') }}
)

select w.*, p.parts_value
from wholes as w
left join parts as p on {% for c in match_columns %}w.{{ c }} = p.{{ c }}{% if not loop.last %} and {% endif %}{% endfor %}
where p.{{ match_columns[0] }} is null
    or (w.whole_value is null) <> (p.parts_value is null)
    or abs(w.whole_value - p.parts_value) > {{ tolerance }}
{% endtest %}
