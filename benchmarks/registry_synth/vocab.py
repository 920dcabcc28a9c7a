"""Free-text vocabularies of provincial systems: ID types, sex, vaccine product wording."""

from __future__ import annotations

ID_TYPES: dict[str, dict[str, str]] = {
    "full": {
        "resident": "居民身份证",
        "residence_permit": "港澳台居民居住证",
        "hkm_permit": "港澳居民来往内地通行证",
        "tw_permit": "台湾居民来往大陆通行证",
        "passport": "护照",
        "pr_card": "外国人永久居留身份证",
        "birth_certificate": "出生医学证明",
        "cn_passport": "护照",
        "none": "",
    },
    "short": {
        "resident": "身份证",
        "residence_permit": "居住证",
        "hkm_permit": "回乡证",
        "tw_permit": "台胞证",
        "passport": "护照",
        "pr_card": "永居证",
        "birth_certificate": "出生证",
        "cn_passport": "中国护照",
        "none": "",
    },
    "code": {
        "resident": "01",
        "residence_permit": "08",
        "hkm_permit": "06",
        "tw_permit": "07",
        "passport": "03",
        "pr_card": "09",
        "birth_certificate": "11",
        "cn_passport": "03",
        "none": "",
    },
}

SEX: dict[str, dict[str, str]] = {
    "cn": {"M": "男", "F": "女", "U": ""},
    "mf": {"M": "M", "F": "F", "U": ""},
    "num": {"M": "1", "F": "2", "U": "0"},
    "cn_long": {"M": "男性", "F": "女性", "U": "未知"},
}

_GENERIC_INACT = "新冠病毒灭活疫苗(Vero细胞)"
# product -> style -> wordings (the first is the style's usual one)
VACCINES: dict[str, dict[str, tuple[str, ...]]] = {
    "BBIBP": {
        "maker": ("国药北京", "北京生物"),
        "generic_maker": (_GENERIC_INACT + "北京生物", "新型冠状病毒灭活疫苗（Vero细胞）-北京所"),
        "brand": ("众爱可维", "BBIBP-CorV"),
        "generic": (_GENERIC_INACT,),
    },
    "WIBP": {
        "maker": ("国药武汉", "武汉生物"),
        "generic_maker": (_GENERIC_INACT + "武汉生物", "新型冠状病毒灭活疫苗（Vero细胞）-武汉所"),
        "brand": ("众康可维", "WIBP"),
        "generic": (_GENERIC_INACT,),
    },
    "CORONAVAC": {
        "maker": ("科兴", "北京科兴中维"),
        "generic_maker": (_GENERIC_INACT + "科兴", "新型冠状病毒灭活疫苗（Vero细胞）-科兴中维"),
        "brand": ("克尔来福", "CoronaVac"),
        "generic": (_GENERIC_INACT,),
    },
    "KCONVAC": {
        "maker": ("康泰", "深圳康泰"),
        "generic_maker": (_GENERIC_INACT + "康泰", "新型冠状病毒灭活疫苗（Vero细胞）-北京民海"),
        "brand": ("KCONVAC", "康泰生物"),
        "generic": (_GENERIC_INACT,),
    },
    "IMBCAMS": {
        "maker": ("医科院生物所", "中国医学科学院医学生物学研究所"),
        "generic_maker": (_GENERIC_INACT + "医科院",),
        "brand": ("IMBCAMS", "医科院生物"),
        "generic": (_GENERIC_INACT,),
    },
    "AD5": {
        "maker": ("康希诺", "康希诺生物"),
        "generic_maker": ("重组新型冠状病毒疫苗(5型腺病毒载体)康希诺",),
        "brand": ("克威莎", "Ad5-nCoV"),
        "generic": ("重组新型冠状病毒疫苗(5型腺病毒载体)",),
    },
    "AD5_INH": {
        "maker": ("康希诺吸入", "康希诺生物(吸入)"),
        "generic_maker": ("吸入用重组新型冠状病毒疫苗(5型腺病毒载体)康希诺",),
        "brand": ("克威莎雾优", "吸入用克威莎"),
        "generic": ("吸入用重组新型冠状病毒疫苗(5型腺病毒载体)",),
    },
    "ZF2001": {
        "maker": ("智飞", "智飞龙科马"),
        "generic_maker": ("重组新型冠状病毒疫苗(CHO细胞)智飞",),
        "brand": ("智克威得", "ZF2001"),
        "generic": ("重组新型冠状病毒疫苗(CHO细胞)",),
    },
    "SCTV01E": {
        "maker": ("神州细胞",),
        "generic_maker": ("重组新型冠状病毒4价S三聚体蛋白疫苗(CHO细胞)神州细胞",),
        "brand": ("安诺能4", "SCTV01E"),
        "generic": ("重组新型冠状病毒4价S三聚体蛋白疫苗(CHO细胞)",),
    },
    "WSK_SF9": {
        "maker": ("威斯克", "威斯克生物"),
        "generic_maker": ("重组新型冠状病毒疫苗(Sf9细胞)威斯克",),
        "brand": ("威克欣",),
        "generic": ("重组新型冠状病毒疫苗(Sf9细胞)",),
    },
    "SYS6006": {
        "maker": ("石药", "石药集团"),
        "generic_maker": ("新型冠状病毒mRNA疫苗石药",),
        "brand": ("度恩泰", "SYS6006"),
        "generic": ("新型冠状病毒mRNA疫苗",),
    },
    "LYB_V01": {
        "maker": ("丽珠", "丽珠单抗"),
        "generic_maker": ("重组新型冠状病毒融合蛋白疫苗丽珠",),
        "brand": ("丽康V-01", "V-01"),
        "generic": ("重组新型冠状病毒融合蛋白疫苗",),
    },
}

# What a clinic types when it copies a certificate in a hurry.
GENERIC_REENTRY = ("新冠疫苗", "新型冠状病毒疫苗", "新冠病毒疫苗", "COVID-19疫苗")
