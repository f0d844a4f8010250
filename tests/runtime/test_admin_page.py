"""The Admin page through Streamlit's AppTest: users, grants, units and the change log."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from streamlit.testing.v1 import AppTest

from engine import SYSTEM_ACTOR, OneStop
from engine.views import UserView
from runtime.demo import PASSWORD

APP = str(Path(__file__).resolve().parents[2] / "runtime" / "app.py")
ADMIN_PAGE = "workbench/admin.py"
NEW_PASSWORD = "a brand new password"


def admin_page(onestop: OneStop, username: str = "admin", locale: str = "en") -> AppTest:
    app = AppTest.from_file(APP, default_timeout=30)
    app.session_state["auth.user"] = onestop.accounts.authenticate(username, PASSWORD, datetime.now(UTC))
    app.session_state["auth.locale"] = locale
    app.run()
    app.switch_page(ADMIN_PAGE).run()
    assert not app.exception, app.exception
    return app


def user_named(onestop: OneStop, username: str) -> UserView:
    return next(u for u in onestop.administration.users(SYSTEM_ACTOR) if u.username == username)


def errors(app: AppTest) -> list[str]:
    return [e.value for e in app.error]


def test_the_page_shows_users_units_and_an_empty_change_log(seeded: OneStop) -> None:
    app = admin_page(seeded)

    assert [t.label for t in app.tabs] == ["Users", "Units", "Changes"]
    users = app.dataframe[0].value
    assert "somchai" in list(users["User name"])
    assert "intake_officer@TH.50.01" in " ".join(users["Roles"])
    units = app.dataframe[2].value  # after the selected user's grants
    assert list(units["Code"]) == ["TH.50", "TH.50.01", "TH.50.02", "VN.01", "VN.01.001", "VN.01.002"]
    assert any(i.value == "No changes yet." for i in app.info)


def test_an_admin_creates_a_user_who_then_signs_in(seeded: OneStop) -> None:
    app = admin_page(seeded)
    app.text_input(key="admin.new_user.username").input("pim.s")
    app.text_input(key="admin.new_user.name").input("Pim S.")
    app.selectbox(key="admin.new_user.locale").set_value("vi")
    app.text_input(key="admin.new_user.password").input(NEW_PASSWORD)
    app.button(key="admin.new_user.submit").click().run()

    assert not app.exception and not app.error, errors(app)
    assert [s.value for s in app.success] == ["User created: pim.s"]
    assert seeded.accounts.authenticate("pim.s", NEW_PASSWORD, datetime.now(UTC)).locale == "vi"
    changes = app.dataframe[-1].value
    assert (changes["By"][0], changes["Action"][0], changes["Subject"][0]) == (
        "admin",
        "User created",
        "pim.s",
    )
    assert NEW_PASSWORD not in " ".join(changes["After"])


def test_a_bad_user_name_shows_the_engines_message_and_creates_nothing(seeded: OneStop) -> None:
    app = admin_page(seeded)
    app.text_input(key="admin.new_user.username").input("Pim S")
    app.text_input(key="admin.new_user.name").input("Pim")
    app.button(key="admin.new_user.submit").click().run()

    assert not app.exception
    assert len(app.error) == 1 and "user name 'Pim S'" in app.error[0].value
    assert "Pim S" not in [u.username for u in seeded.administration.users(SYSTEM_ACTOR)]


def test_an_admin_grants_and_revokes_a_role(seeded: OneStop) -> None:
    app = admin_page(seeded)
    app.selectbox(key="admin.user").set_value("malee").run()
    app.selectbox(key="admin.user.malee.role").set_value("approver")
    app.selectbox(key="admin.user.malee.unit").set_value("TH.50")
    app.button(key="admin.user.malee.grant_submit").click().run()

    assert not app.exception and not app.error, errors(app)
    assert ("approver", "TH.50") in {(g.role, g.unit_code) for g in user_named(seeded, "malee").grants}

    app.selectbox(key="admin.user.malee.revoke_choice").set_value("intake_officer@TH.50.02")
    app.button(key="admin.revoke").click().run()

    assert not app.exception and not app.error, errors(app)
    assert [(g.role, g.unit_code) for g in user_named(seeded, "malee").grants] == [("approver", "TH.50")]
    assert [s.value for s in app.success] == ["Role revoked: malee · intake_officer@TH.50.02"]


def test_an_admin_changes_a_name_and_sets_a_password(seeded: OneStop) -> None:
    app = admin_page(seeded)
    app.selectbox(key="admin.user").set_value("niran").run()
    app.text_input(key="admin.user.niran.name").input("Niran K.")
    app.button(key="admin.user.niran.save").click().run()
    app.text_input(key="admin.user.niran.new_password").input(NEW_PASSWORD)
    app.button(key="admin.user.niran.set_password").click().run()

    assert not app.exception and not app.error, errors(app)
    assert user_named(seeded, "niran").display_name == "Niran K."
    assert seeded.accounts.authenticate("niran", NEW_PASSWORD, datetime.now(UTC)).username == "niran"


def test_a_short_password_is_refused_with_the_engines_message(seeded: OneStop) -> None:
    app = admin_page(seeded)
    app.selectbox(key="admin.user").set_value("niran").run()
    app.text_input(key="admin.user.niran.new_password").input("short")
    app.button(key="admin.user.niran.set_password").click().run()

    assert not app.exception
    assert errors(app) == ["a password needs at least 10 characters"]


def test_an_admin_deactivating_themselves_is_told_why_not(seeded: OneStop) -> None:
    app = admin_page(seeded)
    app.selectbox(key="admin.user").set_value("admin").run()
    app.button(key="admin.deactivate").click().run()

    assert not app.exception
    assert len(app.error) == 1 and "your own account" in app.error[0].value
    assert user_named(seeded, "admin").active


def test_the_last_admin_grant_cannot_be_revoked_from_the_page(seeded: OneStop) -> None:
    seeded.administration.revoke_role("admin", datetime.now(UTC), "admin", "admin", "VN.01")
    app = admin_page(seeded)
    app.selectbox(key="admin.user").set_value("admin").run()
    app.button(key="admin.revoke").click().run()

    assert not app.exception
    assert len(app.error) == 1 and "last admin grant" in app.error[0].value


def test_an_admin_deactivates_and_reactivates_a_user(seeded: OneStop) -> None:
    app = admin_page(seeded)
    app.selectbox(key="admin.user").set_value("wichai").run()
    app.button(key="admin.deactivate").click().run()

    assert not app.exception and not app.error, errors(app)
    assert not user_named(seeded, "wichai").active
    assert any("inactive" in w.value for w in app.warning)

    app.button(key="admin.reactivate").click().run()

    assert not app.exception and not app.error, errors(app)
    assert user_named(seeded, "wichai").active


def test_an_admin_creates_and_edits_a_unit(seeded: OneStop) -> None:
    app = admin_page(seeded)
    app.text_input(key="admin.new_unit.code").input("TH.50.03")
    app.text_input(key="admin.new_unit.name").input("Mae Rim Municipality")
    app.selectbox(key="admin.new_unit.level").set_value("commune")
    app.selectbox(key="admin.new_unit.parent").set_value("TH.50")
    app.text_input(key="admin.new_unit.name_th").input("เทศบาลแม่ริม")
    app.button(key="admin.new_unit.submit").click().run()

    assert not app.exception and not app.error, errors(app)
    unit = next(u for u in seeded.directory.units() if u.code == "TH.50.03")
    assert (unit.parent_code, unit.names) == ("TH.50", {"th": "เทศบาลแม่ริม"})

    app.selectbox(key="admin.unit").set_value("TH.50.03").run()
    app.text_input(key="admin.unit.TH.50.03.name").input("Mae Rim Town")
    app.selectbox(key="admin.unit.TH.50.03.zone").set_value("Asia/Ho_Chi_Minh")
    app.button(key="admin.unit.TH.50.03.save").click().run()

    assert not app.exception and not app.error, errors(app)
    unit = next(u for u in seeded.directory.units() if u.code == "TH.50.03")
    assert (unit.name, unit.timezone) == ("Mae Rim Town", "Asia/Ho_Chi_Minh")


def test_a_commune_under_a_commune_is_refused_with_the_engines_message(seeded: OneStop) -> None:
    app = admin_page(seeded)
    app.text_input(key="admin.new_unit.code").input("TH.50.01.01")
    app.text_input(key="admin.new_unit.name").input("A village")
    app.selectbox(key="admin.new_unit.level").set_value("commune")
    app.selectbox(key="admin.new_unit.parent").set_value("TH.50.01")
    app.button(key="admin.new_unit.submit").click().run()

    assert not app.exception
    assert len(app.error) == 1 and "must be a province" in app.error[0].value
    assert "TH.50.01.01" not in [u.code for u in seeded.directory.units()]


def test_the_page_speaks_thai(seeded: OneStop) -> None:
    app = admin_page(seeded, locale="th")

    assert app.title[0].value == "ผู้ดูแลระบบ"
    assert [t.label for t in app.tabs] == ["ผู้ใช้", "หน่วยงาน", "การเปลี่ยนแปลง"]


def test_staff_without_the_admin_role_get_no_admin_page(seeded: OneStop) -> None:
    app = AppTest.from_file(str(Path(APP).parent / ADMIN_PAGE), default_timeout=30)
    app.session_state["auth.user"] = seeded.accounts.authenticate("somchai", PASSWORD, datetime.now(UTC))
    app.session_state["auth.locale"] = "en"
    app.run()

    assert not app.exception
    assert errors(app) == ["You have no role that can see this page."]
    assert not app.dataframe
