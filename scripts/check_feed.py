#!/usr/bin/env python3
"""Checks a published iCalendar feed with libical, as Evolution and GNOME read it.

Usage: python3 scripts/check_feed.py FILE

The feed-mode sibling of check_ics.py, for a calendar apps subscribe to
rather than an invite: one valid VCALENDAR with no parse errors, no METHOD
(or PUBLISH), any number of VEVENTs, each with UID, DTSTAMP, DTSTART, DTEND
in UTC after DTSTART, SEQUENCE and STATUS, and none naming an ATTENDEE or
ORGANIZER. libical's restriction check runs for the calendar as it is.
Prints a JSON summary: the calendar's name, refresh interval and
X-PUBLISHED-TTL, and each event's uid, sequence, status, start, end,
summary, url and transparency.

Exit status: 0 valid, 1 invalid (the reasons go to stderr), 2 libical's
bindings are missing (run `make test`, which runs scripts/test-deps.sh).
"""
import sys

from check_ics import errors_in, parse_calendar, prop_value, run

REQUIRED = ("UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "STATUS")
FORBIDDEN = ("ATTENDEE", "ORGANIZER")
EVENT_STATUSES = ("CONFIRMED", "TENTATIVE", "CANCELLED")


def x_value(comp, name):
    """Returns the value of a property libical does not know by name
    (X- properties and RFC 7986's REFRESH-INTERVAL in libical 3.0)."""
    for text in comp.as_ical_string().replace("\r\n ", "").split("\r\n"):
        head, _, value = text.partition(":")
        if head.split(";")[0].upper() == name:
            return value
    return None


def events_of(ical, cal):
    event = cal.get_first_component(ical.ComponentKind.VEVENT_COMPONENT)
    while event is not None:
        yield event
        event = cal.get_next_component(ical.ComponentKind.VEVENT_COMPONENT)


def event_problems(ical, event):
    kinds = ical.PropertyKind
    uid = event.get_uid()
    problems = []
    for name in REQUIRED:
        kind = ical.Property.kind_from_string(name)
        if event.get_first_property(kind) is None:
            problems.append(f"VEVENT {uid} has no {name}")
    for name in FORBIDDEN:
        if event.get_first_property(ical.Property.kind_from_string(name)) is not None:
            problems.append(f"VEVENT {uid} names an {name}; a feed names no one")
    status = prop_value(event, kinds.STATUS_PROPERTY)
    if status is not None and status not in EVENT_STATUSES:
        problems.append(f"VEVENT {uid} STATUS is {status}")
    start, end = prop_value(event, kinds.DTSTART_PROPERTY), prop_value(event, kinds.DTEND_PROPERTY)
    for name, value in (("DTSTART", start), ("DTEND", end)):
        if value is not None and not value.endswith("Z"):
            problems.append(f"VEVENT {uid} {name} {value} is not in UTC")
    if start and end and end <= start:
        problems.append(f"VEVENT {uid} ends before it starts")
    return problems


def check(ical, text):
    """Returns (summary, problems) for the feed text."""
    cal, problems = parse_calendar(ical, text)
    if cal is None:
        return None, problems
    method = prop_value(cal, ical.PropertyKind.METHOD_PROPERTY)
    if method not in (None, "PUBLISH"):
        problems.append(f"METHOD is {method}; a feed has none (or PUBLISH)")
    events = list(events_of(ical, cal))
    for event in events:
        problems.extend(event_problems(ical, event))
    if not cal.is_valid():
        problems.append("libical reports the component as invalid")
    if problems:
        return None, problems
    if not ical.restriction_check(cal):
        return None, ["restriction check failed"] + errors_in(ical, cal)
    return summarize(ical, cal, events), []


def summarize(ical, cal, events):
    kinds = ical.PropertyKind
    return {
        "method": prop_value(cal, kinds.METHOD_PROPERTY),
        "name": x_value(cal, "X-WR-CALNAME"),
        "refresh": x_value(cal, "REFRESH-INTERVAL"),
        "ttl": x_value(cal, "X-PUBLISHED-TTL"),
        "events": [
            {
                "uid": e.get_uid(),
                "sequence": e.get_sequence(),
                "status": prop_value(e, kinds.STATUS_PROPERTY),
                "dtstart": prop_value(e, kinds.DTSTART_PROPERTY),
                "dtend": prop_value(e, kinds.DTEND_PROPERTY),
                "summary": e.get_summary(),
                "url": prop_value(e, kinds.URL_PROPERTY),
                "transp": prop_value(e, kinds.TRANSP_PROPERTY),
            }
            for e in events
        ],
    }


def main(argv):
    return run(argv, check, "check_feed", "feed")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
