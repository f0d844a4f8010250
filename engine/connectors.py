"""Connectors: the only code a service task can reach, registered here by name.

A BPMN service task names an operation (``spiffworkflow:serviceTaskOperator id=...``) and
passes parameters; the connector answers with JSON data. During a command the answer is
recorded in the case's events; when a case is rebuilt from its events the recorded answer
is fed back instead of calling the connector again (:class:`ServiceLedger`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import IntegrityError, ScriptFailed
from engine.registries import PopulationRegistry, population_connector

Connector = Callable[[Mapping[str, Any]], Any]


class ConnectorRegistry:
    """Named connectors available to service tasks."""

    def __init__(self) -> None:
        self._connectors: dict[str, Connector] = {}

    def register(self, operation: str, connector: Connector) -> None:
        self._connectors[operation] = connector

    def names(self) -> list[str]:
        return sorted(self._connectors)

    def call(self, element_id: str, operation: str, params: Mapping[str, Any]) -> Any:
        """Call a connector.

        Raises:
            ScriptFailed: no connector has that name, or the connector refused the input.
        """
        connector = self._connectors.get(operation)
        if connector is None:
            known = ", ".join(self.names()) or "none"
            raise ScriptFailed(
                f"service task '{element_id}' calls unknown connector '{operation}' (known: {known})",
                element_id=element_id,
            )
        try:
            return connector(params)
        except (KeyError, TypeError, ValueError) as exc:
            raise ScriptFailed(
                f"connector '{operation}' of service task '{element_id}' refused its input: {exc}",
                element_id=element_id,
            ) from exc


@dataclass(frozen=True)
class ServiceCall:
    element_id: str
    operation: str
    params: dict[str, Any]
    result: Any


@dataclass
class ServiceLedger:
    """What service tasks asked and got during one command.

    Live, it calls the registry and records each answer; on replay it hands back the
    answers recorded in the case's events, in order, and never calls out.
    """

    registry: ConnectorRegistry
    replaying: list[ServiceCall] | None = None
    calls: list[ServiceCall] = field(default_factory=list)

    def call(self, element_id: str, operation: str, params: dict[str, Any]) -> Any:
        if self.replaying is not None:
            if not self.replaying:
                raise IntegrityError(
                    f"replay: service task '{element_id}' ran but no recorded answer is left",
                    element_id=element_id,
                )
            recorded = self.replaying.pop(0)
            if (recorded.element_id, recorded.operation) != (element_id, operation):
                raise IntegrityError(
                    f"replay: expected a call of '{recorded.operation}' by '{recorded.element_id}', "
                    f"the engine called '{operation}' by '{element_id}'",
                    element_id=element_id,
                )
            result = copy.deepcopy(recorded.result)
        else:
            result = self.registry.call(element_id, operation, params)
        self.calls.append(ServiceCall(element_id, operation, copy.deepcopy(params), copy.deepcopy(result)))
        return result


def building_permit_fee(params: Mapping[str, Any]) -> dict[str, Any]:
    """Thai building-permit inspection fee by floor area and height class.

    Rates per square metre by the Ministerial Regulation on building-control fees: 0.50 THB
    up to two storeys, 2 THB for three storeys, 4 THB above; plus a 20 THB permit fee.
    """
    area = float(params["floor_area"])
    storeys = int(params["storeys"])
    if area <= 0 or storeys < 1:
        raise ValueError("floor_area must be > 0 and storeys ≥ 1")
    rate = 0.5 if storeys <= 2 else 2.0 if storeys == 3 else 4.0
    amount = round(area * rate + 20.0, 2)
    return {
        "amount": amount,
        "currency": "THB",
        "basis": f"{area:g} m² × {rate:g} THB/m² + 20 THB permit fee",
    }


def delay_notice(params: Mapping[str, Any]) -> dict[str, Any]:
    """Ask for a delay notice to the applicant, copied to the oversight office (Thailand's
    Licensing Facilitation Act B.E. 2558 s.10). The case command queues the notice in the
    outbox in the same transaction (see :mod:`engine.notices`); ``reason`` is optional.
    """
    reason = params.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise TypeError("reason must be text")
    return {"notice": "delay", "copy_oversight": True, "reason": reason}


#: Operations whose answers the case command turns into outbox messages.
NOTICE_OPERATIONS = frozenset({"notify.delay_notice"})


def default_connectors(population: PopulationRegistry | None = None) -> ConnectorRegistry:
    """The connectors bundled with OneStop. ``registry.population`` answers from
    ``population`` (see :mod:`engine.registries`); without one it says none is connected."""
    registry = ConnectorRegistry()
    registry.register("registry.population", population_connector(population))
    registry.register("fee.building_permit", building_permit_fee)
    registry.register("notify.delay_notice", delay_notice)
    return registry
