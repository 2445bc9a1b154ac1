{#- Regions and complete years whose twelve published months differ from the December
    year-to-date figure by more than `tolerance` (a fraction) in any flow. -#}
{% macro months_vs_december_ytd(tolerance) %}
with months as (
    select
        region_level,
        region_code,
        year,
        count(*) as months,
        sum(total_cny) as total_months,
        sum(exports_cny) as exports_months,
        sum(imports_cny) as imports_months,
        max(case when month = 12 then total_ytd_cny end) as total_december_ytd,
        max(case when month = 12 then exports_ytd_cny end) as exports_december_ytd,
        max(case when month = 12 then imports_ytd_cny end) as imports_december_ytd
    from {{ ref('trade_by_region_month') }}
    where not is_combined_jan_feb
    group by region_level, region_code, year
)

select *
from months
where months = 12
  and (
      abs(total_months - total_december_ytd) > {{ tolerance }} * total_december_ytd
      or abs(exports_months - exports_december_ytd) > {{ tolerance }} * exports_december_ytd
      or abs(imports_months - imports_december_ytd) > {{ tolerance }} * imports_december_ytd
  )
{% endmacro %}
