#!/usr/bin/env python3
"""Checks an iCalendar file with libical, as Evolution and GNOME read it.

Usage: python3 scripts/check_ics.py FILE

Parses FILE with libical (GObject bindings: Debian's python3-gi and
gir1.2-ical-3.0), requires one valid VCALENDAR with no parse errors, and runs
libical's iTIP restriction check (RFC 5546) for its METHOD. Prints a JSON
summary of the first VEVENT on success.

Exit status: 0 valid, 1 invalid (the reasons go to stderr), 2 libical's
bindings are missing (run `make test`, which runs scripts/test-deps.sh).
"""
import json
import os
import sys

SYSTEM_PYTHON = "/usr/bin/python3"


def load_icalglib():
    try:
        import gi

        gi.require_version("ICalGLib", "3.0")
        from gi.repository import ICalGLib

        return ICalGLib
    except (ImportError, ValueError) as err:
        # apt installs the bindings for Debian's interpreter only; a pyenv or
        # venv python3 earlier on PATH cannot see them.
        if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON) and os.path.exists(SYSTEM_PYTHON):
            os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)
        print(f"check_ics: libical bindings missing ({err}): run `make test` "
              "(scripts/test-deps.sh installs python3-gi and gir1.2-ical-3.0)", file=sys.stderr)
        sys.exit(2)


def components(ical, comp):
    """Yields comp and every component inside it."""
    yield comp
    child = comp.get_first_component(ical.ComponentKind.ANY_COMPONENT)
    while child is not None:
        yield from components(ical, child)
        child = comp.get_next_component(ical.ComponentKind.ANY_COMPONENT)


def errors_in(ical, comp):
    """Returns the X-LIC-ERROR properties libical adds for what it rejects,
    once each: its restriction check can add the same one many times."""
    found = []
    for c in components(ical, comp):
        prop = c.get_first_property(ical.PropertyKind.XLICERROR_PROPERTY)
        while prop is not None:
            msg = f"{c.kind_to_string(c.isa())}: {prop.get_value_as_string()}"
            if msg not in found:
                found.append(msg)
            prop = c.get_next_property(ical.PropertyKind.XLICERROR_PROPERTY)
    return found


def parse_calendar(ical, text):
    """Returns (VCALENDAR, problems): the calendar with libical's parse
    errors, or None with the reason it is not one."""
    try:
        comp = ical.Component.new_from_string(text)
    except TypeError:  # the bindings raise when libical returns NULL
        comp = None
    if comp is None:
        return None, ["libical could not parse the file"]
    if comp.isa() != ical.ComponentKind.VCALENDAR_COMPONENT:
        return None, [f"top-level component is {comp.kind_to_string(comp.isa())}, not VCALENDAR"]
    return comp, errors_in(ical, comp)


def check(ical, text):
    """Returns (summary, problems) for the iCalendar text."""
    comp, problems = parse_calendar(ical, text)
    if comp is None:
        return None, problems
    if comp.count_components(ical.ComponentKind.VEVENT_COMPONENT) != 1:
        problems.append("want exactly one VEVENT")
    if not comp.is_valid():
        problems.append("libical reports the component as invalid")
    if problems:
        return None, problems
    if not ical.restriction_check(comp):
        return None, ["iTIP restriction check failed"] + errors_in(ical, comp)
    return summarize(ical, comp), []


def prop_value(comp, kind):
    prop = comp.get_first_property(kind)
    return None if prop is None else prop.get_value_as_string()


def summarize(ical, cal):
    event = cal.get_first_component(ical.ComponentKind.VEVENT_COMPONENT)
    kinds = ical.PropertyKind
    return {
        "method": prop_value(cal, kinds.METHOD_PROPERTY),
        "uid": event.get_uid(),
        "sequence": event.get_sequence(),
        "dtstart": prop_value(event, kinds.DTSTART_PROPERTY),
        "dtend": prop_value(event, kinds.DTEND_PROPERTY),
        "status": prop_value(event, kinds.STATUS_PROPERTY),
        "alarms": event.count_components(ical.ComponentKind.VALARM_COMPONENT),
    }


def run(argv, check, name, what):
    """Checks the file named in argv with check(ical, text) and reports as
    the tool called name, for which an invalid file "is not a valid what"."""
    if len(argv) != 2:
        print(f"usage: {name}.py FILE", file=sys.stderr)
        return 1
    ical = load_icalglib()
    with open(argv[1], encoding="utf-8", newline="") as f:
        text = f.read()
    summary, problems = check(ical, text)
    if problems:
        print(f"{name}: {argv[1]} is not a valid {what}:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0


def main(argv):
    return run(argv, check, "check_ics", "iTIP message")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
