-- How the 41 cities divide the work: exports by city and HS chapter per year, with
-- - location_quotient = (chapter's share of the city's exports) ÷ (chapter's share of the YRD's
--   exports); above 1 the city is specialised in the chapter;
-- - hhi_products = Σ over the city's chapters of (share of the city's exports)², from 1/number of
--   chapters (spread evenly) to 1 (one chapter only). One value per city and year, repeated on its rows.
-- The YRD reference is the 41 cities' own chapter detail summed, so shares compare like with like.
-- Grain: region_code × year × product_code (HS chapter).
with city_chapter as (
    select region_code, year, product_code,
           count(distinct period) as months_covered,
           sum(value_cny) as exports_cny,
           bool_or(is_sample) as is_sample
    from {{ ref('int_product_month') }}
    where region_level = 'city' and hs_level = 'chapter' and flow = 'export'
    group by region_code, year, product_code
),

shares as (
    select
        *,
        sum(exports_cny) over (partition by region_code, year) as city_exports_cny,
        sum(exports_cny) over (partition by year, product_code) as yrd_chapter_exports_cny,
        sum(exports_cny) over (partition by year) as yrd_exports_cny,
        max(months_covered) over (partition by region_code, year) as city_months_covered
    from city_chapter
),

-- Shares in double precision on every engine (what DuckDB's decimal division gives anyway): Spark
-- would divide in decimals, and the quotient's rank could differ between near-equal quotients.
measures as (
    select
        *,
        cast(exports_cny as double) / nullif(city_exports_cny, 0) as share_in_city,
        cast(yrd_chapter_exports_cny as double) / nullif(yrd_exports_cny, 0) as share_in_yrd
    from shares
)

select
    m.region_code,
    g.region_name_zh,
    g.region_name_en,
    g.province_code,
    m.year,
    cast(m.city_months_covered as integer) as months_covered,
    m.product_code,
    c.name_zh as product_name_zh,
    c.name_en as product_name_en,
    {{ money('m.exports_cny') }} as exports_cny,
    {{ money('m.city_exports_cny') }} as city_exports_cny,
    cast(round(100 * m.share_in_city, 4) as decimal(18, 4)) as share_of_city_exports_pct,
    cast(round(100 * m.share_in_yrd, 4) as decimal(18, 4)) as share_of_yrd_exports_pct,
    cast(round(m.share_in_city / nullif(m.share_in_yrd, 0), 4) as decimal(18, 4)) as location_quotient,
    cast(round(sum(m.share_in_city * m.share_in_city) over (partition by m.region_code, m.year), 6) as decimal(18, 6))
        as hhi_products,
    cast(rank() over (partition by m.region_code, m.year order by m.share_in_city / nullif(m.share_in_yrd, 0) desc) as integer)
        as location_quotient_rank,
    m.is_sample as is_sample_data
from measures as m
left join {{ ref('dim_region') }} as g on g.region_level = 'city' and m.region_code = g.region_code
left join {{ ref('hs_chapters') }} as c on m.product_code = c.chapter
where m.exports_cny > 0
