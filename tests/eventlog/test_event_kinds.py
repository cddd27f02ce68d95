"""The event kinds have one source, `specs.events.Event`; every place that must know each kind is held to it
here, so adding a kind fails these tests until each place has it: its upcasters, explain's summary, the
state's `apply` (checked at import), and a sample in `tests/eventlog/streams.py`."""

from __future__ import annotations

import json
from typing import get_args

import pytest

from eventlog.explain import summarize
from eventlog.hashing import canonical_json
from eventlog.upcast import UPCASTERS, parse_payload
from specs import events as ev
from tests.eventlog.streams import one_of_each_kind

SAMPLES = one_of_each_kind()


def test_each_kind_is_its_class_name_and_its_literal():
    assert len(set(ev.EVENT_KINDS)) == len(ev.EVENT_KINDS) == len(ev.EVENT_TYPES)
    for kind, cls in ev.EVENT_TYPES.items():
        assert cls.__name__ == kind
        assert get_args(cls.model_fields["kind"].annotation) == (kind,)
        assert issubclass(cls, ev.EventBase)


def test_every_event_class_in_specs_is_a_kind():
    """A class deriving from EventBase that `Event` does not list would never parse back from the log."""
    classes = [cls for cls in vars(ev).values() if isinstance(cls, type) and issubclass(cls, ev.EventBase)]
    kinds = {cls.__name__ for cls in classes if isinstance(cls.model_fields["kind"].default, str)}
    assert kinds == set(ev.EVENT_KINDS)
    # the rest are bases that share fields (EventBase, the tape's FeedBar): no kind, so nothing to parse back
    assert {cls.__name__ for cls in classes} - kinds == {"EventBase", "FeedBar"}


def test_there_is_a_sample_of_every_kind():
    assert set(SAMPLES) == set(ev.EVENT_KINDS)
    assert all(event.kind == kind for kind, event in SAMPLES.items())


@pytest.mark.parametrize("kind", ev.EVENT_KINDS)
def test_every_schema_version_step_has_an_upcaster(kind):
    current = ev.CURRENT_SCHEMA_VERSION[kind]
    missing = [f"v{v}->v{v + 1}" for v in range(1, current) if (kind, v) not in UPCASTERS]
    assert missing == [], f"{kind} is at version {current} but has no upcaster for {', '.join(missing)}"


def test_no_upcaster_is_left_over():
    for kind, version in UPCASTERS:
        assert kind in ev.CURRENT_SCHEMA_VERSION, f"an upcaster for the unknown kind {kind}"
        assert 1 <= version < ev.CURRENT_SCHEMA_VERSION[kind], f"{kind} v{version} is not a step below current"


@pytest.mark.parametrize("kind", ev.EVENT_KINDS)
def test_every_upcaster_step_lifts_the_version_by_one(kind):
    for version in range(1, ev.CURRENT_SCHEMA_VERSION[kind]):
        payload = {**json.loads(canonical_json(SAMPLES[kind])), "schema_version": version}
        assert UPCASTERS[(kind, version)](payload)["schema_version"] == version + 1


@pytest.mark.parametrize("kind", ev.EVENT_KINDS)
def test_explain_has_a_summary_for_every_kind(kind):
    summary = summarize(SAMPLES[kind])
    assert isinstance(summary, str) and summary.strip() and summary != kind


def test_explain_refuses_a_kind_it_has_no_summary_for():
    unknown = ev.SessionFailed.model_construct(kind="SomethingNew", reason="x")
    with pytest.raises(NotImplementedError, match="explain has no summary for SomethingNew"):
        summarize(unknown)


@pytest.mark.parametrize("kind", ev.EVENT_KINDS)
def test_every_kind_parses_back_from_its_canonical_payload(kind):
    event = SAMPLES[kind]
    assert parse_payload(kind, event.schema_version, canonical_json(event)) == event


def test_every_kind_has_its_fixed_number_in_the_log():
    """The log stores a kind as its number (`eventlog.kinds`): every kind needs one, numbers are never reused,
    and each number reads back as its kind."""
    from eventlog.errors import PayloadError
    from eventlog.kinds import KIND_CODES, KIND_NAMES, kind_code, kind_name

    missing = sorted(set(ev.EVENT_KINDS) - set(KIND_CODES))
    assert missing == [], f"add {missing} at the end of eventlog.kinds.KIND_NAMES"
    assert len(set(KIND_NAMES)) == len(KIND_NAMES)
    assert KIND_NAMES[:4] == ("TeardownStarted", "LoadingStarted", "StreamingStarted", "SessionEnded")
    for kind in ev.EVENT_KINDS:
        assert kind_name(kind_code(kind)) == kind
    assert kind_name(999) == "?999"
    with pytest.raises(PayloadError, match="no number"):
        kind_code("NotAKind")


def test_a_stored_payload_reads_back_as_the_text_that_was_hashed():
    """Each kind's sample through the codec: the very canonical bytes back, whether compressed or stored as
    its text; what is neither is a PayloadError."""
    from eventlog import codec
    from eventlog.errors import PayloadError

    for event in SAMPLES.values():
        canonical = canonical_json(event).encode()
        packed = codec.pack(canonical)
        assert len(packed) < len(canonical) and packed[:1] != b"{"
        assert codec.unpack(packed) == canonical == codec.unpack(canonical)
        assert codec.unpack_rows([(1, packed), (2, canonical)]) == [(1, canonical), (2, canonical)]
    with pytest.raises(PayloadError):
        codec.unpack(b"\x00not a frame")
    with pytest.raises(PayloadError):
        codec.unpack_rows([(1, b"\x00not a frame")])
