"""Builder: a procedure from a table of steps — no BPMN modeler needed. The table and the
procedure's facts become a spec; the spec becomes a package (BPMN with lanes, timers and a
laid-out diagram, forms, service manual) shown live with its findings, ready to download,
import, publish or test-run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st
from pydantic import ValidationError

import designer
from designer.bpmn_generator import generate_package
from designer.package_archive import write_archive
from designer.procedure_spec import (
    STEP_COLUMNS,
    ProcedureSpec,
    dump_spec,
    load_spec,
    step_rows,
    steps_from_rows,
)
from designer.validation import has_errors, validate_package
from engine import PackageFiles
from engine.errors import ProcedureInvalid
from engine.views import Finding
from runtime.package_views import draw_diagram, draw_findings, import_and_open
from runtime.services import get_onestop
from runtime.sessions import gettext, require_user

EXAMPLES = Path(designer.__file__).resolve().parent / "spec_examples"
TEST_RUN_PAGE = "studio/test_run.py"
SPEC_KEY = "studio.builder.spec"
GENERATION_KEY = "studio.builder.generation"  # a new editor each time the spec is replaced

_ = gettext()
user = require_user()
onestop = get_onestop()


def replace_spec(spec: ProcedureSpec) -> None:
    st.session_state[SPEC_KEY] = spec
    st.session_state[GENERATION_KEY] = st.session_state.get(GENERATION_KEY, 0) + 1


def example(name: str) -> ProcedureSpec:
    spec, findings = load_spec((EXAMPLES / name).read_text(encoding="utf-8"), file=name)
    if spec is None:  # the bundled examples are tested; say so plainly if one breaks
        raise RuntimeError(f"the bundled example {name} does not load: {findings[0].message}")
    return spec


examples = sorted(p.name for p in EXAMPLES.glob("*.yaml"))
if SPEC_KEY not in st.session_state:
    replace_spec(example(examples[0]))
spec: ProcedureSpec = st.session_state[SPEC_KEY]
generation = st.session_state.get(GENERATION_KEY, 0)

st.title(_("Builder"))
st.caption(
    _(
        "Each row is a step: a task done by a role, a decision that routes the case, a supplement "
        "loop that waits for missing documents, or the final approval. Rows with the same parallel "
        "group run side by side."
    )
)
steps_tab, facts_tab, yaml_tab = st.tabs([_("Steps"), _("Procedure"), _("YAML")])

with facts_tab, st.form(f"studio.builder.facts.{generation}"):
    columns = st.columns(2)
    code = columns[0].text_input(_("Procedure code"), spec.code)
    limit = columns[1].number_input(
        _("Time limit (days)"), min_value=1, max_value=3650, value=spec.time_limit_days
    )
    names = st.columns(3)
    name_en = names[0].text_input(_("Name (English)"), spec.name.en)
    name_th = names[1].text_input(_("Name (Thai)"), spec.name.th or "")
    name_vi = names[2].text_input(_("Name (Vietnamese)"), spec.name.vi or "")
    day_types = {"working": _("working days"), "calendar": _("calendar days")}
    day_type = st.radio(
        _("Counted in"),
        list(day_types),
        index=list(day_types).index(spec.day_type),
        format_func=day_types.get,
        horizontal=True,
    )
    unit = st.text_input(_("Responsible unit"), spec.responsible_unit or "")
    legal = st.text_area(_("Legal basis (one per line)"), "\n".join(spec.legal_basis))
    if st.form_submit_button(_("Apply")):
        facts = {
            "code": code,
            "name": {"en": name_en, "th": name_th or None, "vi": name_vi or None},
            "time_limit_days": int(limit),
            "day_type": day_type,
            "responsible_unit": unit or None,
            "legal_basis": [line.strip() for line in legal.splitlines() if line.strip()],
        }
        try:
            replace_spec(ProcedureSpec.model_validate({**spec.model_dump(), **facts}))
        except ValidationError as exc:
            for error in exc.errors():
                st.error(f"{'.'.join(map(str, error['loc']))}: {error['msg']}")
        else:
            st.rerun()

with yaml_tab:
    st.caption(_("The whole spec as YAML: edit it here, or start from an example."))
    text = st.text_area(_("Spec"), dump_spec(spec), height=400, key=f"studio.builder.yaml.{generation}")
    left, right = st.columns(2)
    if left.button(_("Apply YAML"), key="studio.builder.apply_yaml"):
        loaded, yaml_findings = load_spec(text, file="spec.yaml")
        if loaded is None:
            st.session_state["studio.builder.yaml_findings"] = yaml_findings
        else:
            st.session_state.pop("studio.builder.yaml_findings", None)
            replace_spec(loaded)
            st.rerun()
    chosen = right.selectbox(_("Example"), examples, key="studio.builder.example")
    if right.button(_("Start from this example"), key="studio.builder.load_example"):
        replace_spec(example(chosen))
        st.rerun()
    if refused := st.session_state.get("studio.builder.yaml_findings"):
        draw_findings(refused, _)

with steps_tab:
    text_column = st.column_config.TextColumn
    edited = st.data_editor(
        step_rows(spec),
        key=f"studio.builder.table.{generation}",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_order=STEP_COLUMNS,
        column_config={
            "id": text_column(_("Id"), help=_("lowercase letters, digits and _"), required=True),
            "kind": st.column_config.SelectboxColumn(
                _("Kind"), options=["task", "decision", "supplement", "approval"], default="task"
            ),
            "name_en": text_column(_("Name (English)")),
            "name_th": text_column(_("Name (Thai)")),
            "name_vi": text_column(_("Name (Vietnamese)")),
            "role": text_column(_("Role"), help=_("the role whose worklist gets the step (its lane)")),
            "fields": text_column(
                _("Form fields"),
                help=_("e.g. documents_complete:boolean, fee:number, note:text! (! = required)"),
            ),
            "form": text_column(_("Form file")),
            "allowance_days": st.column_config.NumberColumn(_("Days allowed"), min_value=1, step=1),
            "parallel": text_column(_("Parallel group")),
            "routes": text_column(_("Routes"), help=_("condition -> step; condition -> step")),
            "default": text_column(_("Otherwise go to")),
            "condition": text_column(_("Supplement when")),
            "wait_days": st.column_config.NumberColumn(_("Days to supply"), min_value=1, step=1),
            "goto": text_column(_("Then back to")),
        },
    )


def build(rows: list[dict[str, Any]]) -> tuple[ProcedureSpec | None, PackageFiles | None, list[Finding]]:
    """The spec of the edited table, its package, and every finding (table, then package)."""
    steps, findings = steps_from_rows(rows)
    if has_errors(findings):
        return None, None, findings
    try:
        candidate = ProcedureSpec.model_validate(
            {**spec.model_dump(), "steps": [s.model_dump() for s in steps]}
        )
        files = generate_package(candidate)
    except ValidationError as exc:
        return (
            None,
            None,
            findings
            + [
                Finding(
                    severity="error",
                    code="spec-invalid",
                    message=f"{'.'.join(map(str, e['loc']))}: {e['msg']}",
                )
                for e in exc.errors()
            ],
        )
    except ProcedureInvalid as exc:
        return None, None, findings + [f for f in exc.findings if isinstance(f, Finding)]
    package = validate_package(
        files, known_roles=onestop.directory.granted_roles(), connectors=onestop.connectors.names()
    )
    return candidate, files, findings + package


rows = edited if isinstance(edited, list) else edited.to_dict("records")
built_spec, files, findings = build(rows)
st.subheader(_("Findings"))
draw_findings(findings, _)
if built_spec is None or files is None:
    st.stop()
st.subheader(_("Preview"))
draw_diagram(files)

actions = st.columns(4)
actions[0].download_button(
    _("Download spec (YAML)"),
    dump_spec(built_spec),
    file_name=f"{built_spec.code}.yaml",
    key="studio.builder.spec_download",
)
actions[1].download_button(
    _("Download package (.zip)"),
    write_archive(files),
    file_name=f"{built_spec.code}.zip",
    mime="application/zip",
    key="studio.builder.package_download",
)
if actions[2].button(_("Test-run"), key="studio.builder.test_run"):
    st.session_state["studio.trial_files"] = files
    st.session_state["studio.trial_choice"] = "builder"
    st.switch_page(TEST_RUN_PAGE)
publish = actions[3].checkbox(
    _("Publish at once"), key="studio.builder.publish", disabled=has_errors(findings)
)
if actions[3].button(_("Import as a new version"), key="studio.builder.import", type="primary"):
    import_and_open(onestop, user, files, publish, _)
