"""The Huzhou-shaped demo network (湖州) loaded by ``seed_demo``. Codes below township level are
illustrative."""

CITY = ("330500", "湖州市")

# district code, name, [(township code, name, [(village code, name)])]
DISTRICTS = [
    (
        "330502",
        "吴兴区",
        [
            ("330502001", "月河街道", [("330502001001", "月河社区"), ("330502001002", "南街社区")]),
            (
                "330502002",
                "朝阳街道",
                [("330502002001", "朝阳社区"), ("330502002002", "红门馆社区")],
            ),
            ("330502101", "织里镇", [("330502101001", "织里村"), ("330502101002", "轧村村")]),
        ],
    ),
    (
        "330503",
        "南浔区",
        [
            ("330503001", "南浔镇", [("330503001001", "南西街社区"), ("330503001002", "适园社区")]),
            ("330503101", "练市镇", [("330503101001", "练市村"), ("330503101002", "茹家甸村")]),
        ],
    ),
    (
        "330521",
        "德清县",
        [
            ("330521001", "武康街道", [("330521001001", "城北社区"), ("330521001002", "春晖社区")]),
            ("330521101", "新市镇", [("330521101001", "新市村"), ("330521101002", "宋市村")]),
        ],
    ),
    (
        "330522",
        "长兴县",
        [
            ("330522001", "雉城街道", [("330522001001", "金陵社区"), ("330522001002", "画溪社区")]),
            ("330522101", "泗安镇", [("330522101001", "泗安村"), ("330522101002", "五里渡村")]),
        ],
    ),
    (
        "330523",
        "安吉县",
        [
            ("330523001", "递铺街道", [("330523001001", "胜利社区"), ("330523001002", "阳光社区")]),
            ("330523101", "天荒坪镇", [("330523101001", "余村村"), ("330523101002", "大溪村")]),
        ],
    ),
]

# First letters of each place's pinyin, for the operator's region picker (朝阳 is "chaoyang",
# 长兴 "changxing", 轧村 "zhacun" locally).
PINYIN_INITIALS = {
    "湖州市": "hzs",
    "吴兴区": "wxq",
    "月河街道": "yhjd",
    "月河社区": "yhsq",
    "南街社区": "njsq",
    "朝阳街道": "cyjd",
    "朝阳社区": "cysq",
    "红门馆社区": "hmgsq",
    "织里镇": "zlz",
    "织里村": "zlc",
    "轧村村": "zcc",
    "南浔区": "nxq",
    "南浔镇": "nxz",
    "南西街社区": "nxjsq",
    "适园社区": "sysq",
    "练市镇": "lsz",
    "练市村": "lsc",
    "茹家甸村": "rjdc",
    "德清县": "dqx",
    "武康街道": "wkjd",
    "城北社区": "cbsq",
    "春晖社区": "chsq",
    "新市镇": "xsz",
    "新市村": "xsc",
    "宋市村": "ssc",
    "长兴县": "cxx",
    "雉城街道": "zcjd",
    "金陵社区": "jlsq",
    "画溪社区": "hxsq",
    "泗安镇": "saz",
    "泗安村": "sac",
    "五里渡村": "wldc",
    "安吉县": "ajx",
    "递铺街道": "dpjd",
    "胜利社区": "slsq",
    "阳光社区": "ygsq",
    "天荒坪镇": "thpz",
    "余村村": "ycc",
    "大溪村": "dxc",
}

# code, name, kind, region code, duty phone, capabilities, address
CENTRES = [
    (
        "hotline-centre",
        "南太湖心航热线中心",
        "hotline_centre",
        "330500",
        "+865722251885",
        ["hotline", "emergency_response"],
        "湖州市吴兴区",
    ),
    # The provincial 12356 centre (issue 21): open 24 hours, takes the city line's overflow.
    (
        "province-12356",
        "省12356中心",
        "hotline_centre",
        "330500",
        "+8657187812356",
        ["hotline"],
        "杭州市",
    ),
    (
        "counselling-centre",
        "南太湖心航线下咨询中心（225城市书吧）",
        "counselling_centre",
        "330500",
        "+865722259885",
        ["counselling", "appointment_line"],
        "湖州市吴兴区",
    ),
    (
        "third-hospital",
        "湖州市第三人民医院（南太湖心航诊疗中心）",
        "hospital",
        "330502",
        "+865722023300",
        ["youth_ward", "self_harm_clinic", "outpatient", "follow_up", "psychiatric_expert"],
        "湖州市吴兴区",
    ),
    # The city-level 110 command centre: one key sends here when the place is not known.
    (
        "police-city",
        "湖州市公安局110指挥中心",
        "police",
        "330500",
        "+865722110000",
        ["emergency_response"],
        "湖州市",
    ),
    (
        "ambulance-120",
        "湖州市急救指挥中心",
        "ambulance",
        "330500",
        "+865722120120",
        ["emergency_response"],
        "湖州市",
    ),
    (
        "expert-pool",
        "“1+6”心理健康专家团队",
        "expert_pool",
        "330500",
        "",
        ["psychiatric_expert"],
        "湖州市",
    ),
    # A school that runs screening (issue 20); its psychology teacher follows up.
    (
        "demo-school",
        "吴兴区实验中学",
        "school",
        "330502",
        "",
        [],
        "湖州市吴兴区",
    ),
    (
        "city-task-force",
        "市社会（青少年）心理健康服务工作专班",
        "guidance_centre",
        "330500",
        "",
        [],
        "湖州市",
    ),
]

CONSORTIUM = {
    "330503": "南浔区人民医院精神科（医联体）",
    "330521": "德清县第三人民医院（医联体）",
    "330522": "长兴县精神病院（医联体）",
    "330523": "安吉县第三人民医院（医联体）",
}

# Numbers callers dial (each picks its centre): number, centre code.
HOTLINE_LINES = [("+865722251885", "hotline-centre"), ("+8657187812356", "province-12356")]
# Overflow (来电溢出): centre, partner, open 24h, opens, closes, overflow after (s), max queue.
# The city line answers around the clock (the demo roster covers it 24 hours); a call nobody is
# free for within 60 s, or past 5 waiting, goes to the province. A county line that closes at
# night sets open 24h False with its hours.
CENTRE_ROUTING = [
    ("hotline-centre", "province-12356", True, None, None, 60, 5),
    ("province-12356", None, True, None, None, None, None),
]

# username, display name, organisation code, role, superuser
USERS = [
    ("operator1", "接线员一", "hotline-centre", "operator", False),
    ("operator2", "接线员二", "hotline-centre", "operator", False),
    ("operator12356", "省12356接线员", "province-12356", "operator", False),
    ("counsellor1", "咨询师一", "counselling-centre", "counsellor", False),
    ("counsellor2", "咨询师二", "counselling-centre", "counsellor", False),
    ("nurse1", "护士一", "third-hospital", "hospital_staff", False),
    ("coordinator1", "协调员一", "hotline-centre", "coordinator", False),
    ("leader1", "决策领导", "city-task-force", "decision_maker", False),
    ("expert1", "值班专家", "expert-pool", "expert", False),
    ("police1", "110值班民警", "police-330502", "responder", False),
    ("ambulance1", "120调度员", "ambulance-120", "responder", False),
    ("community1", "月河社区网格员", "community-330502001001", "responder", False),
    ("teacher1", "心理老师一", "demo-school", "counsellor", False),
    ("admin", "系统管理员", "hotline-centre", "administrator", True),
]
# The demo screening campaign (issue 20): one class of 30 unnamed slips.
DEMO_CAMPAIGN = ("初二年级心理健康筛查", "初二(3)班", 30)

# phone, name, anonymous, birth year, village code, stage to reach, risk, summary
SAMPLE_CASES = [
    (
        "+8613800000001",
        "小林",
        False,
        2008,
        "330502001001",
        "discovery",
        "low",
        "学业压力大，睡眠差，首次来电。",
    ),
    (
        "+8613800000002",
        "小周",
        False,
        2007,
        "330521001002",
        "intervention",
        "moderate",
        "与父母冲突后情绪低落，有消极念头，无计划。",
    ),
    (
        "+8613800000003",
        "小陈",
        False,
        2006,
        "330522101001",
        "treatment",
        "high",
        "近期有自伤行为，已转介诊疗中心。",
    ),
    (
        "+8613800000004",
        "",
        True,
        None,
        "330523001001",
        "follow_up",
        "moderate",
        "匿名来电者，出院后回访中。",
    ),
]

# The demo administrator's authenticator key (TOTP, hex): administrators must enter a second
# factor, so the demo seeds this known device. Add it to an app as base32
# ODLLDJ5QAPTMO3NF5AIQ77RXJCHGJ6LA, or compute the code with
# django_otp.oath.totp(bytes.fromhex(ADMIN_TOTP_KEY)). Demo only: never in production.
ADMIN_TOTP_KEY = "70d6b1a7b003e6c76da5e8110ffe37488e64f960"
