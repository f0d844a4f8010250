"""What each kind of case event is called on the pages, in the page's language."""

from __future__ import annotations

from collections.abc import Callable


def event_labels(_: Callable[[str], str]) -> dict[str, str]:
    """Labels by event kind (``task_completed`` …); an unknown kind is shown as it is."""
    return {
        "case_started": _("Case received"),
        "task_ready": _("Step ready"),
        "task_claimed": _("Step claimed"),
        "task_released": _("Step released"),
        "task_assigned": _("Step assigned"),
        "task_completed": _("Step completed"),
        "task_cancelled": _("Step withdrawn"),
        "gateway_taken": _("Decision taken"),
        "timer_set": _("Timer set"),
        "timers_due": _("Timers due"),
        "timer_fired": _("Timer fired"),
        "message_received": _("Message received"),
        "service_called": _("Service consulted"),
        "event_reached": _("Event reached"),
        "step_completed": _("Automatic step done"),
        "case_completed": _("Case closed"),
        "case_cancelled": _("Case cancelled"),
        "deadline_set": _("Appointment date set"),
        "deadline_extended": _("Deadline extended"),
        "clock_paused": _("Clock paused"),
        "clock_resumed": _("Clock restarted"),
    }
