package services

import (
	"slices"
	"time"
)

// Regions the consultancy serves.
const (
	RegionCanada = "canada"
	RegionUSA    = "usa"
)

// Teams a lead can be routed to.
const (
	TeamDjango = "django"
	TeamNodeJS = "nodejs"
)

// Zone is an IANA time zone with the name people know it by.
type Zone struct {
	ID    string
	Label string
}

// regionZones lists every IANA zone of each country (from tzdata's zone.tab),
// the common ones first with friendly labels for pickers.
var regionZones = map[string][]Zone{
	RegionCanada: {
		{"America/St_Johns", "Newfoundland (St. John's)"},
		{"America/Halifax", "Atlantic (Halifax)"},
		{"America/Toronto", "Eastern (Toronto, Ottawa, Montréal)"},
		{"America/Winnipeg", "Central (Winnipeg)"},
		{"America/Regina", "Saskatchewan (Regina, no DST)"},
		{"America/Edmonton", "Mountain (Edmonton, Calgary)"},
		{"America/Vancouver", "Pacific (Vancouver)"},
		{"America/Whitehorse", "Yukon (Whitehorse)"},
		{"America/Glace_Bay", "Atlantic (Glace Bay)"},
		{"America/Moncton", "Atlantic (Moncton)"},
		{"America/Goose_Bay", "Atlantic (Goose Bay)"},
		{"America/Blanc-Sablon", "Atlantic, no DST (Blanc-Sablon)"},
		{"America/Iqaluit", "Eastern (Iqaluit)"},
		{"America/Atikokan", "Eastern, no DST (Atikokan)"},
		{"America/Resolute", "Central (Resolute)"},
		{"America/Rankin_Inlet", "Central (Rankin Inlet)"},
		{"America/Swift_Current", "Saskatchewan (Swift Current)"},
		{"America/Cambridge_Bay", "Mountain (Cambridge Bay)"},
		{"America/Inuvik", "Mountain (Inuvik)"},
		{"America/Creston", "Mountain, no DST (Creston)"},
		{"America/Dawson_Creek", "Mountain, no DST (Dawson Creek)"},
		{"America/Fort_Nelson", "Mountain, no DST (Fort Nelson)"},
		{"America/Dawson", "Yukon (Dawson)"},
	},
	RegionUSA: {
		{"America/New_York", "Eastern (New York)"},
		{"America/Chicago", "Central (Chicago)"},
		{"America/Denver", "Mountain (Denver)"},
		{"America/Phoenix", "Arizona (Phoenix, no DST)"},
		{"America/Los_Angeles", "Pacific (Los Angeles)"},
		{"America/Anchorage", "Alaska (Anchorage)"},
		{"Pacific/Honolulu", "Hawaii (Honolulu)"},
		{"America/Detroit", "Eastern (Detroit)"},
		{"America/Kentucky/Louisville", "Eastern (Louisville)"},
		{"America/Kentucky/Monticello", "Eastern (Monticello, KY)"},
		{"America/Indiana/Indianapolis", "Eastern (Indianapolis)"},
		{"America/Indiana/Vincennes", "Eastern (Vincennes, IN)"},
		{"America/Indiana/Winamac", "Eastern (Winamac, IN)"},
		{"America/Indiana/Marengo", "Eastern (Marengo, IN)"},
		{"America/Indiana/Petersburg", "Eastern (Petersburg, IN)"},
		{"America/Indiana/Vevay", "Eastern (Vevay, IN)"},
		{"America/Indiana/Tell_City", "Central (Tell City, IN)"},
		{"America/Indiana/Knox", "Central (Knox, IN)"},
		{"America/Menominee", "Central (Menominee, MI)"},
		{"America/North_Dakota/Center", "Central (Center, ND)"},
		{"America/North_Dakota/New_Salem", "Central (New Salem, ND)"},
		{"America/North_Dakota/Beulah", "Central (Beulah, ND)"},
		{"America/Boise", "Mountain (Boise)"},
		{"America/Juneau", "Alaska (Juneau)"},
		{"America/Sitka", "Alaska (Sitka)"},
		{"America/Metlakatla", "Alaska (Metlakatla)"},
		{"America/Yakutat", "Alaska (Yakutat)"},
		{"America/Nome", "Alaska (Nome)"},
		{"America/Adak", "Hawaii-Aleutian (Adak)"},
	},
}

// Regions returns the served regions in display order.
func Regions() []string { return []string{RegionCanada, RegionUSA} }

// RegionLabel is the display name of a region.
func RegionLabel(region string) string {
	switch region {
	case RegionCanada:
		return "Canada"
	case RegionUSA:
		return "USA"
	}
	return region
}

// ZonesFor returns the zones of a region, common ones first.
func ZonesFor(region string) []Zone { return regionZones[region] }

// ValidRegion reports whether region is served.
func ValidRegion(region string) bool {
	_, ok := regionZones[region]
	return ok
}

// ZoneInRegion reports whether zone is one of region's IANA zones.
func ZoneInRegion(region, zone string) bool {
	return slices.ContainsFunc(regionZones[region], func(z Zone) bool { return z.ID == zone })
}

// ValidTeam reports whether team is one of the consultant teams.
func ValidTeam(team string) bool { return team == TeamDjango || team == TeamNodeJS }

// loadZone loads an IANA zone; the binary embeds tzdata so this never
// depends on the host.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, &Error{Code: CodeInvalid, Message: "Choose a time zone."}
	}
	loc, err := LoadZone(name)
	if err != nil {
		return nil, &Error{Code: CodeInvalid, Message: "Unknown time zone " + name + "."}
	}
	return loc, nil
}
