"""Dev-only: device and center events as JSON, for the simulation-mode injection endpoint.

``{"type": "CardInserted", "tries_left": 3}``; bytes as hex; ``Authenticated`` and ``Issued``
accept ``"demo"`` shortcuts (the demo resident's menu, N demo documents); ``Timeout`` without
``seq`` means the timer now running; the clerk port's answers (``ClerkStatusRead``,
``ClerkDone``) take plain JSON objects. Unknown types or fields are a typed error.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

from documents.model import CertificateType, JuminhyoOption
from host.session import events as E
from host.session.demo import demo_documents, demo_menu
from host.session.machine import SessionMachine

BY_NAME: dict[str, type[E.Event]] = {t.__name__: t for t in E.ALL_EVENT_TYPES}
SCREEN_ONLY = {"PinEntered", "ClerkPinEntered"}  # the pad is the only way a PIN comes in


class InjectError(ValueError):
    pass


def _menu(value: Any) -> E.Menu:
    if value == "demo":
        return demo_menu()
    try:
        offers = []
        for o in value["offers"]:
            members = tuple(
                E.Member(
                    m["id"],
                    m["name"],
                    bool(m.get("is_self")),
                    frozenset(JuminhyoOption(x) for x in m.get("options", ())),
                )
                for m in o.get("members", ())
            )
            offers.append(
                E.Offer(
                    CertificateType(o["kind"]),
                    int(o["fee_per_copy_yen"]),
                    members,
                    tuple(int(y) for y in o.get("fiscal_years", ())),
                )
            )
        return E.Menu(tuple(offers), municipality=str(value.get("municipality", "")))
    except (KeyError, TypeError, ValueError) as exc:
        raise InjectError(f"bad menu: {exc}") from None


def _convert(tp: Any, value: Any) -> Any:
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InjectError("expected an integer")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise InjectError("expected true/false")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise InjectError("expected a string")
        return value
    if tp is bytes:
        return bytes.fromhex(value)
    if tp is datetime:
        when = datetime.fromisoformat(value)
        if when.tzinfo is None:
            raise InjectError("time needs an offset")
        return when
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(value)
    if tp is E.Menu:
        return _menu(value)
    if typing.get_origin(tp) is Mapping:
        # clerk port results (status, report): plain JSON objects, as the port makes them
        if not isinstance(value, dict):
            raise InjectError("expected an object")
        return value
    if tp is E.Quote:
        return E.Quote(str(value["quote_id"]), int(value["fee_yen"]))
    raise InjectError(f"unsupported field type {tp}")


def decode(body: object, machine: SessionMachine) -> E.Event:
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise InjectError("body must be an object with a 'type'")
    name = body["type"]
    if name not in BY_NAME or name in SCREEN_ONLY:
        raise InjectError(f"unknown event type {name!r}")
    cls = BY_NAME[name]
    args = {k: v for k, v in body.items() if k != "type"}
    if cls is E.Timeout and "seq" not in args:
        return E.Timeout(machine.seq)
    if cls is E.Issued:
        docs = args.get("documents", 1)
        if isinstance(docs, int):
            quote = machine.data.quote
            return E.Issued(demo_documents(docs, quote.quote_id if quote else "Q-1"))
        raise InjectError("Issued takes a document count in simulation")
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(args) - names
    if unknown:
        raise InjectError(f"unknown fields: {sorted(unknown)}")
    try:
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name in args:
                kwargs[f.name] = _convert(hints[f.name], args[f.name])
        return cls(**kwargs)
    except InjectError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise InjectError(f"bad {name}: {exc}") from None
