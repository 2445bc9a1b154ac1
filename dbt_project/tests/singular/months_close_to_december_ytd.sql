-- A warning, not an error: revisions of more than 1% between the months and the December YTD
-- are worth a look (see months_add_up_to_december_ytd for why they happen).
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'trade_by_region_month'}}}) }}
{{ months_vs_december_ytd(0.01) }}
