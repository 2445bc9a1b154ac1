"""What the SAMPLE query exports and city tables are made of: products, partners, trade modes,
the four YRD provinces and their cities, and the monthly province targets they are calibrated to.

Nothing here is official. The product list is a small, plausible slice of China's 8-digit tariff
(HS8) chosen so that every group the YRD is known for shows up: integrated circuits and
electronics (85), machinery and computers (84), vehicles (87), textiles and shoes (54/60/61/62/64),
chemicals (29), plastics (39), furniture and toys (94/95), optical and medical (90), steel
(72/73), and the big import staples (soybeans, crude oil, ores). Codes are HS2017/HS2022 codes
that did not change in 2022 (except the solar cells, which switch on purpose), and the Chinese
names are this project's short renderings, except where a real export printed them
(`verified_name`: 乙炔, 未列名不饱和无环烃, 环己烷 and the soybean codes, as they appear in
../shared/fixtures/real/gacc_query_export/).

The new-three codes come from `dbt_project/seeds/new_three_codes.csv` and the partners from
`dbt_project/seeds/partners.csv`, so the sample and the warehouse's mappings cannot drift apart.

Only the standard library and integers: every weight is an int, so the generators built on this
are byte-identical on every machine.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .location_tables import generate_location_tables

REPO_ROOT = Path(__file__).resolve().parents[2]
SEEDS_DIR = REPO_ROOT / "dbt_project" / "seeds"
PARTNERS_SEED = SEEDS_DIR / "partners.csv"
NEW_THREE_SEED = SEEDS_DIR / "new_three_codes.csv"
CITIES_SEED = SEEDS_DIR / "cities.csv"

FLOWS = ("exports", "imports")
NEW_THREE = ("electric_vehicles", "lithium_ion_batteries", "solar_cells")
# China adopted HS2022 in January 2022: the solar-cell code 85414020 (HS2017 854140) ends in
# 2021-12 and 85414200 / 85414300 (HS2022 854142 / 854143) start in 2022-01.
HS2022_FIRST_PERIOD = "2022-01"


# --------------------------------------------------------------------------------------------
# Provinces and cities
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Province:
    code: str  # GB/T 2260, 310000
    registration_code: str  # 注册地编码 of the query platform: the 2-digit prefix, 31
    name_zh: str  # 上海市, as the query platform and the location table print it
    slug: str  # shanghai, for file names


YRD_PROVINCES: tuple[Province, ...] = (
    Province("310000", "31", "上海市", "shanghai"),
    Province("320000", "32", "江苏省", "jiangsu"),
    Province("330000", "33", "浙江省", "zhejiang"),
    Province("340000", "34", "安徽省", "anhui"),
)
PROVINCE_BY_CODE = {p.code: p for p in YRD_PROVINCES}


@dataclass(frozen=True)
class City:
    code: str
    province_code: str
    gacc_name: str  # 杭州地区
    name_en: str


@lru_cache(maxsize=1)
def load_cities(path: Path = CITIES_SEED) -> tuple[City, ...]:
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(
            City(r["region_code"].strip(), r["province_code"].strip(), r["gacc_city_name"].strip(),
                 r["region_name_en"].strip())
            for r in csv.DictReader(handle)
        )


# --------------------------------------------------------------------------------------------
# Partners (from the seed) and their weights in the sample
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Partner:
    code: str
    name_zh: str
    code_verified: bool


@lru_cache(maxsize=1)
def load_partners(path: Path = PARTNERS_SEED) -> dict[str, Partner]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    partners = {
        r["gacc_code"].strip(): Partner(r["gacc_code"].strip(), r["name_zh"].strip(),
                                        r["code_verified"].strip().lower() == "true")
        for r in rows
    }
    if len(partners) != len(rows):
        raise ValueError(f"{path.name}: a gacc_code appears twice")
    return partners


# (exports weight, imports weight): rounded magnitudes of China's trade with each partner, so the
# United States leads exports, Korea/Taiwan/Japan lead imports. Partners of the seed not listed
# here get (1, 1): they show up now and then, as small partners do.
PARTNER_WEIGHTS: dict[str, tuple[int, int]] = {
    "502": (360, 110), "110": (200, 8), "116": (110, 120), "133": (110, 130), "141": (100, 60),
    "304": (70, 75), "309": (70, 10), "111": (80, 12), "303": (55, 15), "122": (60, 70),
    "136": (50, 35), "112": (45, 45), "132": (45, 25), "601": (50, 150), "344": (70, 95),
    "143": (55, 140), "429": (60, 10), "129": (45, 15), "305": (30, 25), "307": (30, 25),
    "410": (40, 90), "138": (40, 25), "131": (30, 45), "312": (30, 8), "501": (30, 20),
    "327": (25, 4), "137": (25, 5), "331": (5, 30), "412": (15, 40), "434": (10, 25),
    "301": (20, 10), "321": (10, 5), "330": (10, 8), "127": (20, 3), "145": (15, 10),
    "236": (15, 3), "215": (12, 2), "107": (12, 2), "106": (10, 8), "103": (15, 1),
    "402": (8, 15), "609": (6, 15), "114": (8, 30), "126": (3, 25), "118": (3, 15),
    "130": (3, 15), "244": (12, 20), "352": (8, 4), "315": (5, 8), "302": (5, 5),
    "115": (10, 5), "121": (6, 1), "142": (0, 4), "413": (8, 4),
}


def partner_weight(code: str, flow: str) -> int:
    exports, imports = PARTNER_WEIGHTS.get(code, (1, 1))
    return exports if flow == "exports" else imports


# --------------------------------------------------------------------------------------------
# Trade modes
# --------------------------------------------------------------------------------------------

# Code → name exactly as the real query-platform export prints it (14 is 来料加工贸易 there;
# the longer 来料加工装配贸易 of customs-facts 1a is a bilingual mapping's wording).
TRADE_MODES: dict[str, str] = {
    "10": "一般贸易",
    "14": "来料加工贸易",
    "15": "进料加工贸易",
    "33": "保税监管场所进出境货物",
    "34": "海关特殊监管区域物流货物",
    "39": "其他",
}
# Share of rows per trade mode (per mille), by flow: ordinary trade dominates, processing with
# imported materials comes second, bonded logistics carries much of the import side.
TRADE_MODE_WEIGHTS: dict[str, dict[str, int]] = {
    "exports": {"10": 640, "14": 30, "15": 210, "33": 30, "34": 70, "39": 20},
    "imports": {"10": 560, "14": 40, "15": 170, "33": 60, "34": 150, "39": 20},
}


# --------------------------------------------------------------------------------------------
# Products
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    hs8: str
    name_zh: str
    name_en: str
    group: str
    unit_1: str  # 第一计量单位
    unit_2: str  # 第二计量单位; "?" when the code has none
    price_fen: int  # typical value per unit_1, in fen (0.01 yuan)
    grams_per_unit: int  # weight of one unit_1 in grams, for unit_2 = 千克; 0 otherwise
    exports_weight: int  # base share of rows in the flow (before the province tilt)
    imports_weight: int
    partners: tuple[str, ...] = ()  # restrict partners (soybeans from the Americas …); () = any
    new_three: str = ""  # category of the new three, "" for ordinary products
    first_period: str = ""  # first month the code exists ("" = always)
    last_period: str = ""  # last month the code exists ("" = always)
    verified_name: bool = False  # name_zh as printed in a real query export
    value_scale: int = 20  # relative size of one row's value (ICs and crude oil big, acetylene tiny)

    def valid_in(self, period: str) -> bool:
        return (not self.first_period or period >= self.first_period) and (
            not self.last_period or period <= self.last_period
        )

    @property
    def has_unit_2(self) -> bool:
        return self.unit_2 != "?"


# Relative value of a typical row (default 20). The sample has ~60 codes standing in for ~8,000,
# so the big ones must carry most of the money or a few tonnes of acetylene would be worth billions.
VALUE_SCALE: dict[str, int] = {
    "85423100": 1000, "85423200": 800, "85423900": 500, "84713000": 1000, "85176299": 400, "84733090": 300,
    "84869099": 300, "87032341": 500, "87089999": 200, "87084099": 100, "27090000": 2000, "27111100": 800,
    "12019019": 1000, "26030000": 600, "74031111": 400, "30049090": 200, "90318090": 100, "39011000": 100,
    "39021000": 80, "29051100": 60, "29053100": 60, "47032100": 60, "02023000": 60, "10059000": 40,
    "39269090": 60, "94036090": 40, "94032000": 40, "95030089": 50, "61091000": 40, "61102000": 40,
    "85340090": 60, "85076000": 100, "85414300": 60, "85414200": 20, "85414020": 60,
    "29012920": 1, "29021100": 2, "29012990": 3, "12019020": 1, "12011000": 1, "12019011": 2,
    "90049090": 5, "85322410": 10,
}


def _p(hs8, name_zh, name_en, group, unit_1, unit_2, price_fen, grams, exp_w, imp_w, **kw) -> Product:
    return Product(hs8, name_zh, name_en, group, unit_1, unit_2, price_fen, grams, exp_w, imp_w,
                   value_scale=VALUE_SCALE.get(hs8, 20), **kw)


SOY_PARTNERS = ("410", "502", "402", "444", "501")
ORDINARY_PRODUCTS: tuple[Product, ...] = (
    # 85 electrical and electronic (without the new three, added from the seed below)
    _p("85423100", "处理器及控制器", "Processors and controllers (integrated circuits)", "ic", "个", "千克", 2500, 2, 60, 140),
    _p("85423200", "存储器", "Memories (integrated circuits)", "ic", "个", "千克", 1500, 2, 35, 90),
    _p("85423900", "其他集成电路", "Other integrated circuits", "ic", "个", "千克", 400, 1, 35, 70),
    _p("85176299", "其他接收、转换并发送或再生声音、图像或其他数据的设备", "Other machines for the reception, conversion and transmission of data", "electronics", "台", "?", 60000, 0, 60, 20),
    _p("85340090", "其他印刷电路", "Other printed circuits", "electronics", "块", "?", 1500, 0, 25, 20),
    _p("85322410", "片式多层瓷介电容器", "Multilayer ceramic chip capacitors", "electronics", "个", "?", 5, 0, 10, 20),
    _p("85165000", "微波炉", "Microwave ovens", "appliances", "台", "?", 35000, 0, 20, 1),
    _p("85098090", "其他家用电动器具", "Other domestic electro-mechanical appliances", "appliances", "台", "?", 12000, 0, 25, 3),
    _p("85013100", "输出功率不超过750瓦的直流电动机及发电机", "DC motors and generators of an output not exceeding 750 W", "electronics", "台", "?", 3000, 0, 25, 10),
    _p("85183000", "头戴受话器及耳塞机", "Headphones and earphones", "electronics", "个", "?", 4000, 0, 20, 4),
    # 84 machinery and computers
    _p("84713000", "便携式自动数据处理设备", "Portable automatic data-processing machines (laptops)", "computers", "台", "千克", 350000, 2000, 60, 8),
    _p("84733090", "品目8471所列机器的其他零件、附件", "Other parts and accessories of the machines of heading 8471", "computers", "千克", "?", 80000, 0, 30, 35),
    _p("84151021", "分体式空气调节器，制冷量≤4000大卡/时", "Split-system air conditioners, cooling capacity up to 4000 kcal/h", "appliances", "台", "?", 120000, 0, 20, 1),
    _p("84501120", "全自动滚筒式洗衣机", "Fully automatic front-loading washing machines", "appliances", "台", "?", 150000, 0, 12, 1),
    _p("84795010", "多功能工业机器人", "Multi-purpose industrial robots", "machinery", "台", "?", 25000000, 0, 8, 10),
    _p("84811000", "减压阀", "Pressure-reducing valves", "machinery", "千克", "?", 6000, 0, 12, 6),
    _p("84831090", "其他传动轴及曲柄", "Other transmission shafts and cranks", "machinery", "千克", "?", 5000, 0, 12, 8),
    _p("84869099", "品目8486所列机器及装置的其他零件、附件", "Other parts of machines for making semiconductors and displays", "machinery", "千克", "?", 150000, 0, 8, 40),
    _p("84099199", "其他点燃式活塞内燃发动机用零件", "Other parts for spark-ignition piston engines", "machinery", "千克", "?", 6000, 0, 12, 12),
    # 87 vehicles (without the electric vehicles of the new three)
    _p("87032341", "排气量超过1.5升但不超过2升的小轿车", "Passenger cars, cylinder capacity over 1.5 l up to 2 l", "vehicles", "辆", "千克", 22000000, 1500000, 15, 30),
    _p("87084099", "其他机动车辆用变速箱及其零件", "Other gear boxes and parts for motor vehicles", "vehicles", "千克", "?", 7000, 0, 15, 25),
    _p("87089999", "其他机动车辆零件、附件", "Other parts and accessories of motor vehicles", "vehicles", "千克", "?", 4000, 0, 35, 30),
    _p("87120030", "山地自行车", "Mountain bicycles", "vehicles", "辆", "?", 40000, 0, 10, 1),
    # 54/60/61/62/64 textiles, clothing, shoes
    _p("54075200", "染色的涤纶弹力丝机织物", "Dyed woven fabrics of textured polyester filaments", "textiles", "米", "?", 900, 0, 25, 2),
    _p("60063200", "合成纤维制染色针织或钩编织物", "Dyed knitted fabrics of synthetic fibres", "textiles", "千克", "?", 3000, 0, 25, 2),
    _p("61091000", "棉制针织或钩编T恤衫、汗衫及其他背心", "T-shirts, singlets and vests of cotton, knitted", "textiles", "件", "千克", 1800, 180, 30, 2),
    _p("61102000", "棉制针织或钩编套头衫、开襟衫、马甲及类似品", "Jerseys, pullovers and cardigans of cotton, knitted", "textiles", "件", "千克", 3500, 400, 25, 2),
    _p("61046200", "棉制针织或钩编女裤", "Women's trousers of cotton, knitted", "textiles", "条", "?", 2500, 0, 15, 1),
    _p("62034290", "棉制男式长裤及马裤", "Men's trousers and breeches of cotton", "textiles", "条", "?", 4500, 0, 20, 2),
    _p("62046200", "棉制女式长裤及马裤", "Women's trousers and breeches of cotton", "textiles", "条", "?", 4000, 0, 18, 2),
    _p("64041100", "纺织材料鞋面的运动鞋靴", "Sports footwear with textile uppers", "textiles", "双", "千克", 5000, 700, 20, 3),
    # 29 organic chemicals (the first three as printed in the real export)
    _p("29012920", "乙炔", "Acetylene", "chemicals", "千克", "?", 2500, 0, 3, 2, verified_name=True),
    _p("29012990", "未列名不饱和无环烃", "Unsaturated acyclic hydrocarbons, nes", "chemicals", "千克", "?", 900, 0, 8, 10, verified_name=True),
    _p("29021100", "环己烷", "Cyclohexane", "chemicals", "千克", "?", 700, 0, 3, 4, verified_name=True),
    _p("29051100", "甲醇", "Methanol", "chemicals", "千克", "?", 250, 0, 2, 30, partners=("138", "126", "131", "130", "113", "236", "501")),
    _p("29053100", "乙二醇", "Ethylene glycol", "chemicals", "千克", "?", 450, 0, 3, 25, partners=("131", "501", "138", "132", "118", "502", "133")),
    _p("29173611", "精对苯二甲酸", "Purified terephthalic acid (PTA)", "chemicals", "千克", "?", 600, 0, 12, 3),
    _p("29022000", "苯", "Benzene", "chemicals", "千克", "?", 650, 0, 3, 15),
    # 39 plastics
    _p("39011000", "初级形状比重小于0.94的聚乙烯", "Polyethylene with a specific gravity below 0.94, in primary forms", "plastics", "千克", "?", 900, 0, 8, 30),
    _p("39021000", "初级形状的聚丙烯", "Polypropylene in primary forms", "plastics", "千克", "?", 850, 0, 10, 25),
    _p("39074000", "初级形状的聚碳酸酯", "Polycarbonates in primary forms", "plastics", "千克", "?", 1600, 0, 8, 15),
    _p("39235000", "塑料制塞子、盖子及类似品", "Stoppers, lids and caps of plastics", "plastics", "千克", "?", 2500, 0, 15, 3),
    _p("39269090", "其他塑料制品", "Other articles of plastics", "plastics", "千克", "?", 2800, 0, 40, 12),
    # 94/95 furniture, bedding, toys
    _p("94036090", "其他木家具", "Other wooden furniture", "furniture", "件", "?", 50000, 0, 25, 2),
    _p("94032000", "其他金属家具", "Other metal furniture", "furniture", "件", "?", 30000, 0, 25, 1),
    _p("94017100", "带软垫的金属框架坐具", "Upholstered seats with metal frames", "furniture", "个", "?", 25000, 0, 25, 1),
    _p("94042100", "泡沫橡胶或泡沫塑料制褥垫", "Mattresses of cellular rubber or plastics", "furniture", "个", "?", 40000, 0, 12, 1),
    _p("95030089", "其他玩具", "Other toys", "furniture", "千克", "?", 3000, 0, 30, 3),
    # 90 optical, measuring, medical
    _p("90011000", "光导纤维、光导纤维束及光缆", "Optical fibres, bundles and cables", "optical", "千克", "?", 12000, 0, 10, 8),
    _p("90318090", "其他测量或检验仪器、器具及机器", "Other measuring or checking instruments and machines", "optical", "台", "?", 80000, 0, 10, 25),
    _p("90189099", "其他医疗、外科用仪器及器具", "Other medical and surgical instruments and appliances", "optical", "千克", "?", 30000, 0, 10, 20),
    _p("90049090", "其他眼镜", "Other spectacles and goggles", "optical", "副", "?", 1500, 0, 10, 2),
    # 72/73 iron and steel
    _p("72083900", "厚度小于3毫米的其他热轧卷材", "Hot-rolled coils less than 3 mm thick", "steel", "千克", "?", 450, 0, 10, 4),
    _p("72104900", "其他镀或涂锌的铁或非合金钢宽平板轧材", "Flat-rolled iron or non-alloy steel, otherwise plated with zinc", "steel", "千克", "?", 550, 0, 12, 3),
    _p("73181500", "其他螺钉及螺栓", "Other screws and bolts", "steel", "千克", "?", 1200, 0, 18, 5),
    _p("73239300", "不锈钢制餐桌、厨房或其他家用器具", "Table, kitchen and household articles of stainless steel", "steel", "千克", "?", 2500, 0, 15, 1),
    _p("73269090", "其他钢铁制品", "Other articles of iron or steel", "steel", "千克", "?", 1500, 0, 25, 6),
    # 02/10/12 agriculture (the soybean names as printed in the real exports)
    _p("12019019", "转基因黄大豆", "Genetically modified yellow soybeans", "agriculture", "千克", "?", 430, 0, 0, 45, partners=SOY_PARTNERS, verified_name=True),
    _p("12019011", "非转基因黄大豆", "Non-genetically modified yellow soybeans", "agriculture", "千克", "?", 700, 0, 2, 2, partners=SOY_PARTNERS, verified_name=True),
    _p("12019020", "黑大豆，种用除外", "Black soybeans, other than seed", "agriculture", "千克", "?", 1150, 0, 2, 1, partners=("502", "410", "116", "133", "132"), verified_name=True),
    _p("12011000", "种用大豆", "Soybeans for sowing", "agriculture", "千克", "?", 2500, 0, 1, 1, partners=("502", "410", "402"), verified_name=True),
    _p("10059000", "其他玉米", "Other maize (corn)", "agriculture", "千克", "?", 220, 0, 0, 12, partners=("502", "347", "410", "402")),
    _p("02023000", "冻藏去骨牛肉", "Frozen boneless bovine meat", "agriculture", "千克", "?", 4000, 0, 0, 15, partners=("410", "402", "444", "601", "609", "502")),
    # 26/27/74/47 energy, ores, metals, pulp (imports)
    _p("27090000", "石油原油", "Crude petroleum oils", "energy", "千克", "?", 400, 0, 0, 80, partners=("131", "344", "114", "126", "138", "118", "202", "410", "130")),
    _p("27111100", "液化天然气", "Liquefied natural gas", "energy", "千克", "?", 450, 0, 0, 40, partners=("601", "130", "344", "122", "112", "502", "611")),
    _p("26030000", "铜矿砂及其精矿", "Copper ores and concentrates", "ores", "千克", "?", 1600, 0, 0, 30, partners=("412", "434", "429", "145", "601")),
    _p("74031111", "精炼铜阴极", "Refined copper cathodes", "ores", "千克", "?", 6500, 0, 1, 25, partners=("412", "344", "434", "145", "116", "133")),
    _p("47032100", "漂白针叶木化学木浆", "Bleached coniferous chemical wood pulp", "ores", "千克", "?", 550, 0, 0, 12, partners=("501", "412", "502", "330", "344")),
    # 30/33 pharmaceuticals and cosmetics (imports, mostly Shanghai)
    _p("30049090", "其他已配定剂量的药品", "Other medicaments in measured doses", "pharma", "千克", "?", 300000, 0, 4, 35, partners=("304", "502", "331", "305", "303", "307", "116", "330")),
    _p("33049900", "其他美容品或化妆品及护肤品", "Other beauty, make-up and skin-care preparations", "pharma", "千克", "?", 40000, 0, 4, 25, partners=("305", "116", "133", "502", "307", "303")),
)

# The new three: names from the seed; units, prices and weights of the sample here.
# Row weights are 0: their value is calibrated separately (query_exports.NEW_THREE_EXPORTS).
_NEW_THREE_SAMPLE = {
    # hs8: (unit_1, unit_2, price_fen, grams_per_unit, first_period, last_period, imports_weight)
    "87038010": ("辆", "千克", 15000000, 1900000, "", "", 0),
    "87038090": ("辆", "千克", 9000000, 1500000, "", "", 0),
    "85076000": ("个", "千克", 6000, 600, "", "", 15),
    "85414020": ("个", "千克", 30000, 20000, "", "2021-12", 5),
    "85414200": ("个", "千克", 300, 10, HS2022_FIRST_PERIOD, "", 3),
    "85414300": ("个", "千克", 60000, 24000, HS2022_FIRST_PERIOD, "", 3),
}
_NEW_THREE_GROUP = {"electric_vehicles": "vehicles", "lithium_ion_batteries": "batteries", "solar_cells": "solar"}


@lru_cache(maxsize=1)
def load_new_three_codes(path: Path = NEW_THREE_SEED) -> tuple[dict[str, str], ...]:
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


@lru_cache(maxsize=1)
def products() -> tuple[Product, ...]:
    """The whole sample catalogue: the ordinary products and the new-three codes from the seed."""
    seed = {}
    for row in load_new_three_codes():
        if row["included"].strip().lower() == "true" and row["hs8"].strip():
            seed[row["hs8"].strip()] = row
    new_three = []
    for hs8, (unit_1, unit_2, price, grams, first, last, imports_weight) in _NEW_THREE_SAMPLE.items():
        row = seed.get(hs8)
        if row is None or row["category"] not in NEW_THREE:
            raise ValueError(f"{NEW_THREE_SEED.name}: {hs8} is not an included new-three code")
        new_three.append(Product(
            hs8, row["description_zh"].strip(), row["description_en"].strip(), _NEW_THREE_GROUP[row["category"]],
            unit_1, unit_2, price, grams, 0, imports_weight, new_three=row["category"],
            first_period=first, last_period=last, value_scale=VALUE_SCALE.get(hs8, 20),
        ))
    catalogue = ORDINARY_PRODUCTS + tuple(new_three)
    codes = [p.hs8 for p in catalogue]
    if len(set(codes)) != len(codes) or any(not re.fullmatch(r"\d{8}", c) for c in codes):
        raise ValueError("catalogue: HS8 codes must be unique 8-digit strings")
    partners = load_partners()
    unknown = sorted({c for p in catalogue for c in p.partners if c not in partners})
    if unknown:
        raise ValueError(f"catalogue: partners {unknown} are not in {PARTNERS_SEED.name}")
    return catalogue


# How much more (percent) of each product group a province trades than the YRD average:
# Jiangsu is heavy in electronics and machinery, Zhejiang in textiles, furniture and chemicals
# (and crude oil through Zhoushan), Shanghai in vehicles, integrated circuits and medicines,
# Anhui in vehicles, batteries, home appliances (Hefei) and copper (Tongling).
PROVINCE_TILT: dict[str, dict[str, int]] = {
    "310000": {"ic": 300, "computers": 250, "vehicles": 300, "pharma": 400, "optical": 200, "machinery": 150,
               "textiles": 50, "furniture": 50, "steel": 60, "agriculture": 120, "energy": 40},
    "320000": {"ic": 250, "electronics": 250, "computers": 250, "machinery": 200, "chemicals": 150,
               "steel": 180, "plastics": 130, "solar": 200, "batteries": 150, "agriculture": 120},
    "330000": {"textiles": 350, "furniture": 350, "plastics": 160, "chemicals": 180, "appliances": 150,
               "energy": 250, "ic": 40, "computers": 40, "steel": 120, "solar": 180},
    "340000": {"vehicles": 250, "batteries": 250, "appliances": 350, "ores": 300, "steel": 180,
               "ic": 80, "computers": 120, "pharma": 30, "energy": 20, "solar": 150},
}


def product_weight(product: Product, province_code: str, flow: str) -> int:
    base = product.exports_weight if flow == "exports" else product.imports_weight
    return base * PROVINCE_TILT[province_code].get(product.group, 100)


# --------------------------------------------------------------------------------------------
# Shared arithmetic and the targets from the SAMPLE location tables
# --------------------------------------------------------------------------------------------


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split a non-negative integer in proportion to non-negative integer weights, summing exactly
    (largest remainder; ties go to the earlier item, so the result is deterministic)."""
    weight_sum = sum(weights)
    if total < 0 or weight_sum <= 0 or any(w < 0 for w in weights):
        raise ValueError(f"cannot allocate {total} over weights {list(weights)[:5]}…")
    parts = [divmod(total * w, weight_sum) for w in weights]
    shares = [q for q, _ in parts]
    for k in sorted(range(len(weights)), key=lambda k: (-parts[k][1], k))[: total - sum(shares)]:
        shares[k] += 1
    return shares


_LOCATION_NAME = re.compile(r"^sample-location-(\d{4})-(\d{2})\.csv$")

# (province code, year, month) -> {"exports": 万元, "imports": 万元}, the month columns.
ProvinceMonths = dict[tuple[str, int, int], dict[str, int]]


def _parse_location_table(data: bytes) -> dict[str, dict[str, int]]:
    """province name → month value per flow, read with the csv module from one SAMPLE location table."""
    grid = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    groups, months = grid[2], grid[3]  # 进出口/出口/进口 group row, then 'M月' / '1至M月'
    month_label = next(cell for cell in months[1:] if not cell.startswith("1至"))
    column = {
        flow: next(i for i, (g, m) in enumerate(zip(groups, months)) if g == label and m == month_label)
        for flow, label in (("exports", "出口"), ("imports", "进口"))
    }
    wanted = {p.name_zh for p in YRD_PROVINCES}
    values = {row[0]: {flow: int(row[i]) for flow, i in column.items()} for row in grid if row and row[0] in wanted}
    if set(values) != wanted:
        raise ValueError(f"location table lacks {sorted(wanted - set(values))}")
    return values


@lru_cache(maxsize=8)
def _province_months_for(first_year: int, last_year: int) -> ProvinceMonths:
    tables = generate_location_tables(f"{first_year:04d}-01", f"{last_year:04d}-12")
    code_of = {p.name_zh: p.code for p in YRD_PROVINCES}
    result: ProvinceMonths = {}
    for name, data in tables.items():
        match = _LOCATION_NAME.match(name)
        if not match:
            raise ValueError(f"unexpected location-table file name {name!r}")
        year, month = int(match[1]), int(match[2])
        for province_name, values in _parse_location_table(data).items():
            result[(code_of[province_name], year, month)] = values
    return result


def province_months(first_year: int, last_year: int, with_previous_year: bool = False) -> ProvinceMonths:
    """The four YRD provinces' monthly exports and imports (万元) for whole years, as the SAMPLE
    location tables print them (generated, then read back with the csv module: one source of truth).
    With `with_previous_year`, the year before `first_year` is added when the seed has it."""
    if with_previous_year:
        try:
            return _province_months_for(first_year - 1, last_year)
        except ValueError:  # first_year is the seed's first year: there is no previous year
            pass
    return _province_months_for(first_year, last_year)


_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def months_between(first: str, last: str) -> list[tuple[int, int]]:
    start, end = (_PERIOD.match(p.strip()) for p in (first, last))
    if not start or not end:
        raise ValueError(f"periods must look like 2024-03, got {first!r} and {last!r}")
    y, m = int(start[1]), int(start[2])
    end_ym = (int(end[1]), int(end[2]))
    if (y, m) > end_ym:
        raise ValueError(f"first period {first} is after last period {last}")
    months = []
    while (y, m) <= end_ym:
        months.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months
