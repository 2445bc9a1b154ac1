{#- Money and counts never go below zero (a balance may; do not use this test on it). -#}
{% test non_negative(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0
{% endtest %}
