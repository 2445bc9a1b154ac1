-- The geographic scopes of China's trade statistics, kept apart: a region's trade by enterprise
-- location, by port, by customs district and by domestic destination/source are different numbers.
select statistical_scope, name_zh, name_en, loaded_here, description
from {{ ref('statistical_scopes') }}
