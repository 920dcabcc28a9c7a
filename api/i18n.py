"""Workbench texts in Simplified Chinese (default) and English, for templates and scripts."""

from __future__ import annotations

import json
from typing import Final, Literal

from matcher.regions import PROVINCES

Lang = Literal["zh", "en"]
DEFAULT_LANG: Final[Lang] = "zh"

PROVINCES_EN: Final[dict[str, str]] = {
    "11": "Beijing", "12": "Tianjin", "13": "Hebei", "14": "Shanxi", "15": "Inner Mongolia",
    "21": "Liaoning", "22": "Jilin", "23": "Heilongjiang", "31": "Shanghai", "32": "Jiangsu",
    "33": "Zhejiang", "34": "Anhui", "35": "Fujian", "36": "Jiangxi", "37": "Shandong",
    "41": "Henan", "42": "Hubei", "43": "Hunan", "44": "Guangdong", "45": "Guangxi",
    "46": "Hainan", "50": "Chongqing", "51": "Sichuan", "52": "Guizhou", "53": "Yunnan",
    "54": "Tibet", "61": "Shaanxi", "62": "Gansu", "63": "Qinghai", "64": "Ningxia",
    "65": "Xinjiang", "71": "Taiwan", "81": "Hong Kong", "82": "Macao",
}  # fmt: skip

# key: (中文, English)
_TEXTS: Final[dict[str, tuple[str, str]]] = {
    "app_title": ("审核工作台", "Auditor workbench"),
    "nav_queue": ("待审队列", "Queue"),
    "nav_overview": ("概览", "Overview"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "logout": ("退出", "Sign out"),
    "login_title": ("审核员登录", "Auditor sign-in"),
    "login_help": (
        "请输入审核员 API 密钥。密钥只在登录时校验一次，会话保存在仅限本站、HttpOnly 的 Cookie 中。",
        "Enter your auditor API key. It is checked once; the session lives in an HttpOnly, "
        "same-site cookie.",
    ),
    "login_key": ("API 密钥", "API key"),
    "login_submit": ("登录", "Sign in"),
    "login_refused_role": (
        "该密钥的角色（{role}）无权使用审核工作台，仅限审核员。",
        "A key with role {role} may not use the workbench: auditors only.",
    ),
    "login_unknown": ("密钥无效或已吊销。", "Unknown or revoked key."),
    "login_too_many": (
        "登录失败次数过多，请 {minutes} 分钟后再试。",
        "Too many failed sign-ins: try again in {minutes} min.",
    ),
    "all": ("全部", "All"),
    "apply": ("筛选", "Apply"),
    "reset": ("重置", "Reset"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "kpi_open": ("待审总数", "open items"),
    "kpi_filtered": ("符合筛选", "matching filters"),
    "kpi_mine_today": ("我今日已审", "decided by me today"),
    "kpi_mine_total": ("我累计已审", "decided by me in total"),
    "progress_text": ("已审 {done} / {all}（{pct}%）", "{done} of {all} decided ({pct}%)"),
    "page_info": ("第 {from}–{to} 条，共 {count} 条", "{from}–{to} of {count}"),
    "loaded_in": ("加载 {ms} 毫秒", "loaded in {ms} ms"),
    "queue_empty": ("没有符合条件的待审记录对。", "No open pairs match these filters."),
    "queue_shortcuts": (
        "快捷键：J/K 或 ↓/↑ 选择，Enter 打开。",
        "Shortcuts: J/K or ↓/↑ to move, Enter to open.",
    ),
    "filter_province": ("省份", "Province"),
    "filter_band": ("分数段", "Score band"),
    "filter_score_min": ("最低分", "Min score"),
    "filter_score_max": ("最高分", "Max score"),
    "filter_age_min": ("最小年龄", "Min age"),
    "filter_age_max": ("最大年龄", "Max age"),
    "filter_sort": ("排序", "Sort"),
    "sort_score_desc": ("分数从高到低", "Score, high to low"),
    "sort_score_asc": ("分数从低到高", "Score, low to high"),
    "sort_age_desc": ("年龄从大到小", "Age, oldest first"),
    "sort_age_asc": ("年龄从小到大", "Age, youngest first"),
    "sort_newest": ("最新加入", "Newest first"),
    "sort_oldest": ("最早加入", "Oldest first"),
    "band_high": ("高", "high"),
    "band_mid": ("中", "mid"),
    "band_low": ("低", "low"),
    "col_id": ("编号", "Item"),
    "col_score": ("匹配分", "Score"),
    "col_band": ("分数段", "Band"),
    "col_provinces": ("来源省份", "Provinces"),
    "col_age": ("年龄（出生年）", "Age (born)"),
    "col_created": ("加入时间", "Queued"),
    "pair_title": ("记录对", "Pair"),
    "next_item": ("下一条", "Next"),
    "verdict_same": ("同一人", "Same person"),
    "verdict_different": ("不同人", "Different"),
    "verdict_unsure": ("不确定", "Unsure"),
    "reason_placeholder": ("理由（可选，按 R 输入）", "Reason (optional, R to type)"),
    "undo": ("撤销上一个决定", "Undo last decision"),
    "skip": ("跳过", "Skip"),
    "pair_shortcuts": (
        "快捷键：S 同一人 · D 不同人 · U 不确定 · Z 撤销 · N 跳过 · R 填写理由 · Q 返回队列",
        "Shortcuts: S same · D different · U unsure · Z undo · N skip · R reason · Q queue",
    ),
    "default_reason": ("工作台快捷判定：{verdict}", "workbench shortcut: {verdict}"),
    "decided_toast": ("#{id} 已判定为「{verdict}」", "#{id} decided: {verdict}"),
    "decided_as": ("已判定：{verdict}", "decided: {verdict}"),
    "undone_toast": ("已撤销决定 #{id}", "Decision #{id} undone"),
    "undo_reason": ("审核员在工作台撤销", "undone by the auditor in the workbench"),
    "queue_done": ("队列已清空，没有下一条。", "Queue empty: no next item."),
    "status_item_open": ("待审", "open"),
    "status_item_decided": ("已判定", "decided"),
    "no_rules": ("未触发规则", "no rules fired"),
    "records_title": (
        "两条记录对比（差异字符高亮）",
        "The two records (differing characters marked)",
    ),
    "record_left": ("记录 A", "Record A"),
    "record_right": ("记录 B", "Record B"),
    "field_source": ("来源省份", "Source"),
    "field_person_ref": ("省内编号", "Provincial id"),
    "field_person": ("当前归属人员", "Current person"),
    "field_record": ("记录号", "Record"),
    "field_name": ("姓名", "Name"),
    "field_id": ("证件号", "ID number"),
    "field_birth": ("出生日期", "Birth date"),
    "field_birth_date": ("出生日期", "Birth date"),
    "field_sex": ("性别", "Sex"),
    "field_phone": ("电话", "Phone"),
    "field_region": ("证件地区", "ID region"),
    "field_doses": ("接种剂次", "Doses"),
    "missing": ("缺失", "missing"),
    "sex_M": ("男", "male"),
    "sex_F": ("女", "female"),
    "sex_U": ("未知", "unknown"),
    "id_checks": ("证件号校验", "ID checks"),
    "id_status": ("状态", "Status"),
    "status_valid": ("有效", "valid"),
    "status_checksum_error": ("校验位错误", "checksum error"),
    "status_malformed": ("格式错误", "malformed"),
    "status_damaged": ("数据损坏", "damaged"),
    "status_placeholder": ("占位号码", "placeholder"),
    "status_missing": ("缺失", "missing"),
    "check_checksum": ("校验位正确", "checksum valid"),
    "check_upgraded": ("由 15 位升级为 18 位", "upgraded from 15 to 18 digits"),
    "check_not_upgraded": ("原为 18 位（未升级）", "18 digits as written (no upgrade)"),
    "check_birth": ("证件隐含出生日期与填报一致", "ID birth date = stated birth date"),
    "check_sex": ("证件隐含性别与填报一致", "ID sex = stated sex"),
    "waterfall": ("匹配权重瀑布图", "Match-weight waterfall"),
    "waterfall_help": (
        "从先验出发，逐字段加上匹配权重（log2 贝叶斯因子），再加规则调整，得到最终分数；虚线为两个阈值。",
        "From the prior, each field adds its match weight (log2 Bayes factor), then the rules; "
        "dashed lines are the two thresholds.",
    ),
    "wf_prior": ("先验", "Prior"),
    "wf_rules": ("规则调整", "Rules"),
    "wf_total": ("合计", "Total"),
    "threshold_review": ("审核线", "review"),
    "threshold_match": ("匹配线", "match"),
    "timeline": ("接种时间线（两条记录及合并后）", "Dose timeline (both records and the merge)"),
    "lane_left": ("A 所属人员", "Person of A"),
    "lane_right": ("B 所属人员", "Person of B"),
    "lane_merged": ("判定同一人后", "If same"),
    "no_doses": ("无接种记录", "no doses"),
    "merged_status": ("合并后接种状态", "Status after merging"),
    "merged_doses": ("{n} 剂", "{n} doses"),
    "no_flags": ("合并后无异常标记", "no flags on the merged history"),
    "flags": ("标记", "Flags"),
    "state_not_vaccinated": ("未接种", "not vaccinated"),
    "state_primary_in_progress": ("基础免疫未完成", "primary in progress"),
    "state_primary_complete": ("基础免疫已完成", "primary complete"),
    "state_booster": ("已加强", "boosted"),
    "person_title": ("人员", "Person"),
    "split_help": ("勾选要拆出的记录：", "Tick the records to split off:"),
    "split": ("拆分", "Split"),
    "split_pick": ("请至少勾选一条记录。", "Tick at least one record."),
    "split_reason_needed": ("请填写拆分理由。", "Give a reason for the split."),
    "split_done": ("已拆分为 {n} 个人员", "Split into {n} persons"),
    "split_result": ("拆分完成，现为 {n} 个人员：", "Split done; now {n} persons:"),
    "dose_date": ("接种日期", "Date"),
    "dose_number": ("剂次", "Dose"),
    "dose_product": ("疫苗", "Vaccine"),
    "dose_source": ("接种省份", "Province"),
    "dose_lot": ("批号", "Lot"),
    "chart_provinces": ("各省记录数与人员数", "Records and persons per province"),
    "chart_flows": ("跨省接种人员", "Persons vaccinated across provinces"),
    "flows_help": (
        "弧线连接两省，粗细为在两省均有记录的人数。",
        "An arc joins two provinces; its width is the number of persons with records in both.",
    ),
    "chart_weights": ("匹配权重分布与两个阈值", "Match weights and the two thresholds"),
    "weights_help": (
        "审核记录对的匹配权重，按当前结论着色。",
        "Match weights of review pairs, coloured by their outcome.",
    ),
    "chart_backlog": ("待审积压趋势", "Review backlog over time"),
    "chart_flags": ("按类型统计的标记", "Flags by type"),
    "flags_help": (
        "红色：带该标记的人员数（接种史）；橙色：触发该规则的待审记录对数。",
        "Red: persons whose history carries the flag; amber: open pairs where the rule fired.",
    ),
    "legend_records": ("记录", "records"),
    "legend_persons": ("人员（按首次登记省份）", "persons (at first registration)"),
    "legend_backlog": ("积压", "backlog"),
    "legend_created": ("新增", "queued"),
    "legend_decided": ("已审", "decided"),
    "outcome_open": ("待审", "open"),
    "outcome_same": ("同一人", "same"),
    "outcome_different": ("不同人", "different"),
    "outcome_unsure": ("不确定", "unsure"),
    "outcome_decided": ("已判定", "decided"),
    "axis_weight": ("匹配权重（log2 贝叶斯因子）", "match weight (log2 Bayes factor)"),
    "persons_unit": ("人", "persons"),
    "no_data": ("暂无数据", "no data yet"),
    "rule_different_valid_ids": ("两个有效证件号不同", "different valid IDs"),
    "rule_sex_contradicts_id": ("性别与证件矛盾", "sex contradicts ID"),
    "rule_same_id_different_name": ("证件号相同但姓名不同", "same ID, different name"),
    "rule_other_name_without_id": ("无证件且姓名不同", "other name, no ID"),
    "rule_dose_conflict": ("合并后接种史冲突", "merged doses conflict"),
    "rule_cluster_conflict": ("会连接两个不同证件号", "would chain two IDs"),
    "flag_dose_before_birth": ("接种早于出生", "dose before birth"),
    "flag_dose_in_future": ("接种日期在未来", "dose in the future"),
    "flag_interval_too_short": ("间隔过短", "interval too short"),
    "flag_too_many_doses": ("剂次过多", "too many doses"),
    "flag_same_day_events": ("同日多次接种", "same-day events"),
    "flag_unknown_vaccine": ("未知疫苗", "unknown vaccine"),
    "flag_review_possible_duplicate": ("疑似重复上报", "possible duplicate report"),
    "flag_reports_disagree": ("上报内容不一致", "reports disagree"),
    "flag_booster_too_early": ("加强针过早", "booster too early"),
    "flag_booster_not_indicated": ("不符合加强条件", "booster not indicated"),
    "flag_booster_without_primary": ("未完成基础免疫即加强", "booster without primary"),
    "flag_mixed_primary_platforms": ("基础免疫混用技术路线", "mixed primary platforms"),
    "flag_conflicting_name": ("姓名冲突", "conflicting name"),
    "flag_conflicting_id": ("证件号冲突", "conflicting ID"),
    "flag_conflicting_sex": ("性别冲突", "conflicting sex"),
    "flag_conflicting_birth_date": ("出生日期冲突", "conflicting birth date"),
    "flag_missing_dose_date": ("缺少接种日期", "missing dose date"),
    "level_id_exact": ("完全一致", "exact"),
    "level_id_equal_after_upgrade": ("升级后一致", "equal after upgrade"),
    "level_id_one_edit": ("差一位", "one edit apart"),
    "level_id_different": ("不同", "different"),
    "level_name_exact": ("完全一致", "exact"),
    "level_name_same_simplified": ("简繁体一致", "same simplified"),
    "level_name_same_pinyin_or_tokens": ("拼音一致", "same pinyin"),
    "level_name_same_fuzzy_pinyin": ("模糊拼音一致", "same fuzzy pinyin"),
    "level_name_jaro_winkler_high": ("高度相似", "very similar"),
    "level_name_jaro_winkler_low": ("部分相似", "similar"),
    "level_name_different": ("不同", "different"),
    "level_birth_date_exact": ("完全一致", "exact"),
    "level_birth_date_day_month_swap": ("日月颠倒", "day/month swapped"),
    "level_birth_date_near": ("相近", "near"),
    "level_birth_date_same_year": ("同年", "same year"),
    "level_birth_date_different": ("不同", "different"),
    "level_sex_same": ("相同", "same"),
    "level_sex_different": ("不同", "different"),
    "level_phone_same": ("相同", "same"),
    "level_phone_different": ("不同", "different"),
    "level_region_same_id_province": ("证件同省", "same ID province"),
    "level_region_different": ("不同", "different"),
}


def normalise_lang(value: str | None) -> Lang:
    """``en`` or the default ``zh``."""
    return "en" if value == "en" else DEFAULT_LANG


def messages(lang: Lang) -> dict[str, str]:
    """Every text in one language."""
    index = 0 if lang == "zh" else 1
    return {key: pair[index] for key, pair in _TEXTS.items()}


def translate(lang: Lang, key: str, **values: object) -> str:
    """One text with ``{name}`` placeholders filled; the key itself when unknown."""
    pair = _TEXTS.get(key)
    text = key if pair is None else pair[0 if lang == "zh" else 1]
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def province_names(lang: Lang) -> dict[str, str]:
    """Province code → name in the language."""
    return dict(PROVINCES) if lang == "zh" else dict(PROVINCES_EN)


def script_payload(lang: Lang) -> str:
    """The JSON the page scripts read (``</`` escaped so it cannot end the script element)."""
    payload = {"lang": lang, "messages": messages(lang), "provinces": province_names(lang)}
    return json.dumps(payload, ensure_ascii=False).replace("</", "<\\/")
