"""Seed data of the service catalogue (办事指南) for the demo 高新区: one or more items per shipped diagram.

Limits are working days. `special_steps` lists the §45 steps (听证、检验、检测、检疫、鉴定、专家评审、
公示) that do not count towards the limit (`counts: False`) next to steps that do (e.g. 现场核查).
"""

from __future__ import annotations

from typing import Any

DEPARTMENT_NAMES: dict[str, str] = {
    "approval": "行政审批局",
    "market": "市场监管局",
    "nature": "自然资源和规划局",
    "eco": "生态环境局",
    "housing": "住房和城乡建设局",
    "fire": "消防救援大队",
    "tax": "税务局",
    "police": "公安分局",
    "office": "管委会办公室",
    "hotline": "12345 市民服务热线中心",
}

REMEDY = "如不服审批决定，可自收到决定之日起六十日内申请行政复议，或者六个月内向人民法院提起行政诉讼。"


def _m(
    code: str, name: str, kind: str = "required", licence_type: str | None = None, note: str = ""
) -> dict[str, Any]:
    """One material: required (主要材料) or secondary (次要材料, may be tolerated under 容缺受理)."""
    return {"code": code, "name": name, "kind": kind, "licence_type": licence_type, "note": note}


def _step(name: str, counts: bool, max_days: int) -> dict[str, Any]:
    return {"name": name, "counts": counts, "max_days": max_days}


def _faq(question: str, answer: str) -> dict[str, str]:
    return {"question": question, "answer": answer}


ITEMS: list[dict[str, Any]] = [
    {
        "code": "GXQ-XK-0101",
        "name": "企业设立登记（企业开办一件事）",
        "department": "market",
        "item_type": "行政许可",
        "theme": "企业开办",
        "legal_basis": "《中华人民共和国公司法》第二十九条；《市场主体登记管理条例》第三条、第十九条；"
        "《中华人民共和国税收征收管理法》第十五条；《印铸刻字业暨印章业治安管理办法》",
        "conditions": "1. 有符合规定的名称和住所；2. 股东（发起人）符合法定人数；"
        "3. 有符合公司章程规定的出资；4. 有公司章程；5. 有公司组织机构。",
        "materials": [
            _m("M01", "公司登记（备案）申请书"),
            _m("M02", "公司章程"),
            _m("M03", "股东的主体资格证明或者自然人身份证明", licence_type="居民身份证"),
            _m("M04", "住所使用相关文件", licence_type="不动产权证书"),
            _m("M05", "法定代表人、董事、监事和经理的任职文件"),
            _m("M06", "印章刻制申请表", kind="secondary"),
        ],
        "statutory_limit_days": 3,
        "promised_limit_days": 1,
        "special_steps": [],
        "fee": "不收费（首套印章由政府购买服务免费刻制）",
        "visits": 0,
        "process_id": "parallel_approval",
        "mode": "parallel",
        "lead_department": "market",
        "member_departments": ["tax", "police"],
        "settings": {"licence_type": "营业执照"},  # reused as material 营业执照 (不再重复提交)
        "faq": [
            _faq(
                "企业开办需要多长时间？",
                "材料齐全、符合法定形式的，1 个工作日内办结营业执照、公章刻制和发票申领。",
            ),
            _faq("可以全程网办吗？", "可以，通过政务服务网“企业开办一件事”专区提交，电子营业执照同步发放。"),
        ],
    },
    {
        "code": "GXQ-XK-0201",
        "name": "建设工程规划许可证核发",
        "department": "nature",
        "item_type": "行政许可",
        "theme": "工程建设",
        "legal_basis": "《中华人民共和国城乡规划法》第四十条；"
        "《中华人民共和国行政许可法》第四十二条、第四十五条；"
        "《国务院办公厅关于全面开展工程建设项目审批制度改革的实施意见》（国办发〔2019〕11号）",
        "conditions": "1. 已取得建设用地使用权；2. 建设工程设计方案符合控制性详细规划和规划条件；"
        "3. 涉及消防、人防、生态环境的，经相关部门并联审查同意。",
        "materials": [
            _m("M01", "建设工程规划许可申请表"),
            _m("M02", "不动产权证书或建设用地批准文件", licence_type="不动产权证书"),
            _m("M03", "建设工程设计方案总平面图及建筑单体设计图"),
            _m("M04", "营业执照", licence_type="营业执照"),
            _m("M05", "授权委托书及受托人身份证明", kind="secondary"),
        ],
        "statutory_limit_days": 45,
        "promised_limit_days": 15,
        "special_steps": [
            _step("现场踏勘", True, 3),
            _step("专家评审", False, 20),
            _step("批前公示", False, 7),
        ],
        "fee": "不收费",
        "visits": 1,
        "process_id": "parallel_approval",
        "mode": "parallel",
        "lead_department": "nature",
        "member_departments": ["housing", "fire", "eco"],
        "faq": [
            _faq(
                "专家评审和批前公示计入办理时限吗？",
                "不计入。依据行政许可法第四十五条，专家评审、公示所需时间不计算在期限内。",
            ),
            _faq("联合审查时限是多少？", "并联审批法定时限 45 个工作日，经批准可延长 15 个工作日。"),
        ],
    },
    {
        "code": "GXQ-XK-0301",
        "name": "食品经营许可",
        "department": "market",
        "item_type": "行政许可",
        "theme": "餐饮服务",
        "legal_basis": "《中华人民共和国食品安全法》第三十五条；"
        "《食品经营许可和备案管理办法》第十五条、第二十四条",
        "conditions": "1. 具有与经营的食品品种、数量相适应的经营场所；2. 具有相应的设备设施；"
        "3. 有专职或者兼职的食品安全管理人员和保证食品安全的规章制度；4. 具有合理的设备布局和工艺流程。",
        "materials": [
            _m("M01", "食品经营许可申请书"),
            _m("M02", "营业执照", licence_type="营业执照"),
            _m("M03", "经营场所平面图和设备布局、工艺流程图"),
            _m("M04", "食品安全管理制度文本", kind="secondary"),
            _m("M05", "从业人员健康证明", kind="secondary", licence_type="健康证明"),
        ],
        "statutory_limit_days": 10,
        "promised_limit_days": 5,
        "special_steps": [_step("现场核查", True, 5)],
        "fee": "不收费",
        "visits": 0,
        "process_id": "tolerant_prereview",
        "mode": "tolerant",
        "lead_department": None,
        "member_departments": [],
        "faq": [
            _faq(
                "什么是容缺受理？",
                "主要材料齐全、仅缺次要材料的，签署承诺书后先行受理审批，在承诺期限内补齐。",
            ),
            _faq("逾期未补齐会怎样？", "办件终止，并记入信用记录，信用修复前不能再申请容缺受理。"),
        ],
    },
    {
        "code": "GXQ-XK-0401",
        "name": "公共场所卫生许可（告知承诺制）",
        "department": "approval",
        "item_type": "行政许可",
        "theme": "公共卫生",
        "legal_basis": "《公共场所卫生管理条例》第八条；《公共场所卫生管理条例实施细则》第二十二条；"
        "《国务院关于深化“证照分离”改革进一步激发市场主体发展活力的通知》（国发〔2021〕7号）",
        "conditions": "1. 场所选址、设计和卫生设施符合国家卫生标准和卫生规范；"
        "2. 有卫生管理制度和专（兼）职卫生管理人员；3. 从业人员取得健康合格证明；"
        "4. 申请人自愿签署告知承诺书。",
        "materials": [
            _m("M01", "公共场所卫生许可告知承诺书"),
            _m("M02", "营业执照", licence_type="营业执照"),
            _m("M03", "法定代表人身份证明", licence_type="居民身份证"),
            _m("M04", "卫生管理制度", kind="secondary"),
        ],
        "statutory_limit_days": 20,
        "promised_limit_days": 0,
        "special_steps": [_step("事后核查（实地）", True, 20)],
        "fee": "不收费",
        "visits": 0,
        "process_id": "commitment_approval",
        "mode": "commitment",
        "lead_department": None,
        "member_departments": [],
        "faq": [
            _faq("承诺后多久拿证？", "签署告知承诺书、材料齐全的，当场作出许可决定并发放电子证照。"),
            _faq("承诺不实有什么后果？", "依法撤销许可，记入信用记录，并由监察室督办。"),
        ],
    },
    {
        "code": "GXQ-XK-0501",
        "name": "排污许可证核发（重点管理）",
        "department": "eco",
        "item_type": "行政许可",
        "theme": "生态环境",
        "legal_basis": "《中华人民共和国环境保护法》第四十五条；《排污许可管理条例》第六条、第十三条；"
        "《排污许可管理办法》",
        "conditions": "1. 依法取得建设项目环境影响报告书（表）批准文件或者办理环境影响登记备案手续；"
        "2. 污染物排放符合污染物排放标准和重点污染物排放总量控制要求；"
        "3. 采用的污染防治设施或者措施有能力达到许可排放浓度要求。",
        "materials": [
            _m("M01", "排污许可证申请表"),
            _m("M02", "环境影响评价批复文件", licence_type="环评批复"),
            _m("M03", "自行监测方案"),
            _m("M04", "营业执照", licence_type="营业执照"),
            _m("M05", "信息公开情况说明", kind="secondary"),
        ],
        "statutory_limit_days": 30,
        "promised_limit_days": 15,
        "special_steps": [
            _step("现场核查", True, 5),
            _step("申请前信息公开", False, 5),
            _step("专家评审", False, 10),
        ],
        "fee": "不收费",
        "visits": 1,
        "process_id": "parallel_approval",
        "mode": "parallel",
        "lead_department": "eco",
        "member_departments": ["nature", "housing"],
        "faq": [_faq("需要现场核查吗？", "重点管理排污单位一般需要现场核查，核查时间计入办理时限。")],
    },
    {
        "code": "GXQ-XK-0601",
        "name": "建筑工程施工许可证核发",
        "department": "housing",
        "item_type": "行政许可",
        "theme": "工程建设",
        "legal_basis": "《中华人民共和国建筑法》第七条、第八条；《建筑工程施工许可管理办法》第四条、第六条",
        "conditions": "1. 已办理用地批准手续；2. 已取得建设工程规划许可证；3. 施工场地已经基本具备施工条件；"
        "4. 已经确定施工企业；5. 有满足施工需要的资金安排、施工图纸及技术资料。",
        "materials": [
            _m("M01", "建筑工程施工许可证申请表"),
            _m("M02", "建设工程规划许可证", licence_type="建设工程规划许可证"),
            _m("M03", "中标通知书或直接发包批准文件"),
            _m("M04", "施工图设计文件审查合格书"),
            _m("M05", "建设资金已经落实承诺书", kind="secondary"),
            _m("M06", "质量安全监督手续", kind="secondary"),
        ],
        "statutory_limit_days": 7,
        "promised_limit_days": 3,
        "special_steps": [_step("现场勘验", True, 2)],
        "fee": "不收费",
        "visits": 0,
        "process_id": "tolerant_prereview",
        "mode": "tolerant",
        "lead_department": None,
        "member_departments": [],
        "faq": [
            _faq("哪些材料可以容缺？", "建设资金落实承诺书、质量安全监督手续可容缺受理，须在承诺期限内补齐。")
        ],
    },
    {
        "code": "GXQ-XK-0701",
        "name": "药品零售企业经营许可",
        "department": "market",
        "item_type": "行政许可",
        "theme": "药品经营",
        "legal_basis": "《中华人民共和国药品管理法》第五十一条、第五十二条；"
        "《药品经营和使用质量监督管理办法》第十四条",
        "conditions": "1. 有依法经过资格认定的药师或者其他药学技术人员；"
        "2. 有与所经营药品相适应的营业场所、设备、仓储设施和卫生环境；"
        "3. 有与所经营药品相适应的质量管理机构或者人员；"
        "4. 有保证药品质量的规章制度，符合药品经营质量管理规范。",
        "materials": [
            _m("M01", "药品经营许可证申请表"),
            _m("M02", "营业执照", licence_type="营业执照"),
            _m("M03", "执业药师注册证", licence_type="执业药师注册证"),
            _m("M04", "经营场所和仓库平面布局图", kind="secondary"),
        ],
        "statutory_limit_days": 20,
        "promised_limit_days": 8,
        "special_steps": [_step("现场检查", True, 5), _step("检验检测", False, 10)],
        "fee": "不收费",
        "visits": 1,
        "process_id": "tolerant_prereview",
        "mode": "tolerant",
        "lead_department": None,
        "member_departments": [],
        "faq": [],
    },
    {
        "code": "GXQ-GW-0001",
        "name": "收文办理",
        "department": "office",
        "item_type": "公文",
        "theme": "公文",
        "legal_basis": "《党政机关公文处理工作条例》第二十四条、第二十五条",
        "conditions": "上级机关、平级机关和下级单位来文，属于本机关职责范围的，签收登记后办理。",
        "materials": [_m("M01", "来文正文"), _m("M02", "来文附件", kind="secondary")],
        "statutory_limit_days": 10,
        "promised_limit_days": 10,
        "special_steps": [],
        "fee": "不收费",
        "visits": 0,
        "process_id": "document_incoming",
        "mode": "document",
        "lead_department": None,
        "member_departments": [],
        "online": False,
        "faq": [
            _faq("办理时限如何确定？", "按紧急程度：特急 3 个工作日、加急 5 个工作日、平件 10 个工作日。")
        ],
    },
    {
        "code": "GXQ-GW-0002",
        "name": "发文办理",
        "department": "office",
        "item_type": "公文",
        "theme": "公文",
        "legal_basis": "《党政机关公文处理工作条例》第九条、第二十条至第二十三条；"
        "《党政机关公文格式》（GB/T 9704-2012）",
        "conditions": "以管委会名义制发的公文，经核稿、会签、领导签发后统一编号、用印、分发。",
        "materials": [
            _m("M01", "公文正文"),
            _m("M02", "附件", kind="secondary"),
            _m("M03", "会签意见", kind="secondary"),
        ],
        "statutory_limit_days": 10,
        "promised_limit_days": 10,
        "special_steps": [],
        "fee": "不收费",
        "visits": 0,
        "process_id": "document_outgoing",
        "mode": "document",
        "lead_department": None,
        "member_departments": [],
        "online": False,
        "settings": {"issuer": "office", "issuer_prefix": "高新管发"},
        "faq": [
            _faq(
                "发文字号如何编排？",
                "机关代字〔年份〕序号，如“高新管发〔2026〕7号”，同一机关同一年度连续编号、不重号。",
            )
        ],
    },
    {
        "code": "GXQ-RX-0001",
        "name": "12345 热线工单办理",
        "department": "hotline",
        "item_type": "工单",
        "theme": "热线",
        "legal_basis": "《国务院办公厅关于进一步优化地方政务服务便民热线的指导意见》（国办发〔2020〕53号）",
        "conditions": "市民、企业通过 12345 热线反映的咨询、求助、投诉、建议和表扬。",
        "materials": [_m("M01", "来电记录"), _m("M02", "图片、录音等佐证材料", kind="secondary")],
        "statutory_limit_days": 7,
        "promised_limit_days": 7,
        "special_steps": [],
        "fee": "不收费",
        "visits": 0,
        "process_id": "hotline_work_order",
        "mode": "work_order",
        "lead_department": None,
        "member_departments": [],
        "settings": {"limits_by_category": {"咨询": 3, "投诉": 13, "default": 7}},
        "faq": [
            _faq(
                "工单多久办结？",
                "咨询类 3 个工作日，投诉类 13 个工作日，其他 7 个工作日，自承办单位签收起计算。",
            )
        ],
    },
]
