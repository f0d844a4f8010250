"""Demo org units and users, seeded by ``onestop seed-demo`` (and ``make run``).

One Thai province with two municipalities, and one user per role. Every demo account gets
the password :data:`PASSWORD` when it has none yet (listed in the README; change it for
anything but a demo).
"""

from __future__ import annotations

from dataclasses import dataclass

PROVINCE = "TH.50"
PASSWORD = "onestop-demo"

UNITS: list[dict[str, str | None]] = [
    {"code": PROVINCE, "name": "Chiang Mai Province", "level": "province", "parent_code": None},
    {"code": "TH.50.01", "name": "Chiang Mai City Municipality", "level": "commune", "parent_code": PROVINCE},
    {"code": "TH.50.02", "name": "San Sai Municipality", "level": "commune", "parent_code": PROVINCE},
]

UNIT_NAMES: dict[str, dict[str, str]] = {
    PROVINCE: {"th": "จังหวัดเชียงใหม่", "vi": "Tỉnh Chiang Mai", "en": "Chiang Mai Province"},
    "TH.50.01": {
        "th": "เทศบาลนครเชียงใหม่",
        "vi": "Thành phố Chiang Mai",
        "en": "Chiang Mai City Municipality",
    },
    "TH.50.02": {"th": "เทศบาลตำบลสันทราย", "vi": "Thị trấn San Sai", "en": "San Sai Municipality"},
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
    DemoUser("admin", "Administrator", (("admin", PROVINCE),), "en"),
]
