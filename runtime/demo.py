"""Demo org units and users, seeded by ``onestop seed-demo`` (and ``make run``).

One Thai province with two municipalities and one Vietnamese province (city) with two
communes (Vietnam's two-level local government since 1 July 2025), and one user per role of
the bundled procedures. Every demo account gets
the password :data:`PASSWORD` when it has none yet (listed in the README; change it for
anything but a demo).
"""

from __future__ import annotations

from dataclasses import dataclass

PROVINCE = "TH.50"
VN_PROVINCE = "VN.01"
PASSWORD = "onestop-demo"
VN_PLACE = {"timezone": "Asia/Ho_Chi_Minh", "country": "VN"}

UNITS: list[dict[str, str | None]] = [
    {"code": PROVINCE, "name": "Chiang Mai Province", "level": "province", "parent_code": None},
    {"code": "TH.50.01", "name": "Chiang Mai City Municipality", "level": "commune", "parent_code": PROVINCE},
    {"code": "TH.50.02", "name": "San Sai Municipality", "level": "commune", "parent_code": PROVINCE},
    {"code": VN_PROVINCE, "name": "Hanoi City", "level": "province", "parent_code": None, **VN_PLACE},
    {"code": "VN.01.001", "name": "Ba Dinh Ward", "level": "commune", "parent_code": VN_PROVINCE, **VN_PLACE},
    {
        "code": "VN.01.002",
        "name": "Soc Son Commune",
        "level": "commune",
        "parent_code": VN_PROVINCE,
        **VN_PLACE,
    },
]

UNIT_NAMES: dict[str, dict[str, str]] = {
    PROVINCE: {"th": "จังหวัดเชียงใหม่", "vi": "Tỉnh Chiang Mai", "en": "Chiang Mai Province"},
    "TH.50.01": {
        "th": "เทศบาลนครเชียงใหม่",
        "vi": "Thành phố Chiang Mai",
        "en": "Chiang Mai City Municipality",
    },
    "TH.50.02": {"th": "เทศบาลตำบลสันทราย", "vi": "Thị trấn San Sai", "en": "San Sai Municipality"},
    VN_PROVINCE: {"th": "นครฮานอย", "vi": "Thành phố Hà Nội", "en": "Hanoi City"},
    "VN.01.001": {"th": "แขวงบาดิ่ญ", "vi": "Phường Ba Đình", "en": "Ba Dinh Ward"},
    "VN.01.002": {"th": "ตำบลซ้อกเซิน", "vi": "Xã Sóc Sơn", "en": "Soc Son Commune"},
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    grants: tuple[tuple[str, str], ...]
    locale: str = "en"


USERS: list[DemoUser] = [
    DemoUser("somchai", "Somchai (intake, Chiang Mai City)", (("intake_officer", "TH.50.01"),), "th"),
    DemoUser("malee", "Malee (intake, San Sai)", (("intake_officer", "TH.50.02"),), "th"),
    DemoUser("niran", "Niran (engineer, Chiang Mai City)", (("engineer", "TH.50.01"),), "th"),
    DemoUser("kanya", "Kanya (engineer, province)", (("engineer", PROVINCE),), "th"),
    DemoUser("prasert", "Prasert (approver, Chiang Mai City)", (("approver", "TH.50.01"),), "th"),
    DemoUser("wichai", "Wichai (approver, San Sai)", (("approver", "TH.50.02"),), "th"),
    DemoUser("lan", "Lan (auditor, province)", (("auditor", PROVINCE),), "vi"),
    DemoUser("dao", "Dao (process designer, province)", (("designer", PROVINCE),), "vi"),
    DemoUser("boon", "Boonmee (sanitation, Chiang Mai City)", (("sanitation_officer", "TH.50.01"),), "th"),
    DemoUser("achara", "Achara (cashier, Chiang Mai City)", (("cashier", "TH.50.01"),), "th"),
    DemoUser("admin", "Administrator", (("admin", PROVINCE), ("admin", VN_PROVINCE)), "en"),
    # Vietnam: the one-stop desks (bộ phận một cửa) of a ward and of the city, their
    # specialists and leaders, and the agencies that take part in the bundled procedures.
    DemoUser("linh", "Linh (one-stop desk, Ba Dinh)", (("intake_officer", "VN.01.001"),), "vi"),
    DemoUser("nam", "Nam (one-stop desk, Hanoi)", (("intake_officer", VN_PROVINCE),), "vi"),
    DemoUser("minh", "Minh (civil status & economy, Ba Dinh)", (("specialist", "VN.01.001"),), "vi"),
    DemoUser("quang", "Quang (department specialist, Hanoi)", (("specialist", VN_PROVINCE),), "vi"),
    DemoUser("hoa", "Hoa (chairwoman, Ba Dinh People's Committee)", (("approver", "VN.01.001"),), "vi"),
    DemoUser("son", "Son (department director, Hanoi)", (("approver", VN_PROVINCE),), "vi"),
    DemoUser("giang", "Giang (police, Hanoi)", (("police_officer", VN_PROVINCE),), "vi"),
    DemoUser("hanh", "Hanh (social insurance, Hanoi)", (("insurance_officer", VN_PROVINCE),), "vi"),
    DemoUser("thu", "Thu (inspector, Hanoi)", (("inspector", VN_PROVINCE),), "vi"),
]
