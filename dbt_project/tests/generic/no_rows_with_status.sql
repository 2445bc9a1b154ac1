{#- Lists the rows carrying a status that needs a person's attention (e.g. a reconciliation
    mismatch). Used with severity warn: the data is loaded, the warning says where to look. -#}
{% test no_rows_with_status(model, status, column_name='status') %}
select * from {{ model }} where {{ column_name }} = '{{ status }}'
{% endtest %}
