package ical

import (
	"strings"
	"time"

	goical "github.com/emersion/go-ical"
)

// zoneResolver turns TZID parameters into locations, in this order: an
// IANA name (also inside prefixes such as /mozilla.org/.../America/Toronto),
// a Windows zone name or Outlook display name, the calendar's own
// VTIMEZONE, and last the consultant's zone, noted as a problem.
type zoneResolver struct {
	fallback  *time.Location
	ref       time.Time // when VTIMEZONE rules must still hold
	vtimezone map[string]*goical.Component
	cache     map[string]*time.Location
	unknown   map[string]bool
}

func newZoneResolver(fallback *time.Location, ref time.Time, cals []*goical.Calendar) *zoneResolver {
	z := &zoneResolver{fallback: fallback, ref: ref, vtimezone: map[string]*goical.Component{}, cache: map[string]*time.Location{}, unknown: map[string]bool{}}
	for _, cal := range cals {
		for _, child := range cal.Children {
			if child.Name != goical.CompTimezone {
				continue
			}
			if id, err := child.Props.Text(goical.PropTimezoneID); err == nil && id != "" {
				z.vtimezone[cleanTZID(id)] = child
			}
		}
	}
	return z
}

// location resolves one TZID; an unknown one is read in the fallback zone
// and remembered, so the caller can report it.
func (z *zoneResolver) location(tzid string) *time.Location {
	id := cleanTZID(tzid)
	if loc, ok := z.cache[id]; ok {
		return loc
	}
	loc := z.lookup(id)
	if loc == nil {
		z.unknown[id] = true
		loc = z.fallback
	}
	z.cache[id] = loc
	return loc
}

func (z *zoneResolver) lookup(id string) *time.Location {
	if loc := loadIANA(id); loc != nil {
		return loc
	}
	if name := WindowsZone(id); name != "" {
		if loc := loadIANA(name); loc != nil {
			return loc
		}
	}
	// Prefixed IANA names: /mozilla.org/20050126_1/America/New_York,
	// /softwarestudio.org/Olson_20011030_5/America/Chicago.
	for i := strings.IndexByte(id, '/'); i >= 0 && i < len(id)-1; {
		if loc := loadIANA(id[i+1:]); loc != nil {
			return loc
		}
		next := strings.IndexByte(id[i+1:], '/')
		if next < 0 {
			break
		}
		i += next + 1
	}
	if vt := z.vtimezone[id]; vt != nil {
		return locationFromVTimezone(id, vt, z.ref)
	}
	return nil
}

// cleanTZID trims what some writers wrap around a TZID.
func cleanTZID(id string) string {
	return strings.Trim(strings.TrimSpace(id), `"`)
}

// loadIANA loads name from the zone database, refusing the names that
// time.LoadLocation treats specially ("", "UTC" is fine, "Local" is not).
func loadIANA(name string) *time.Location {
	if name == "" || name == "Local" || strings.ContainsAny(name, " ,;:\\") || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	return loc
}
