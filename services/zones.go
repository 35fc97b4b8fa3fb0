package services

import (
	"sync"
	"time"
)

// zones keeps every zone loaded once. time.LoadLocation reads and parses
// the zone file on each call, which showed as an eighth of the CPU of the
// slots API under load. Only names the zone database knows are kept, so a
// stranger's made-up names cannot grow it.
var zones sync.Map // name -> *time.Location

// LoadZone is time.LoadLocation with a cache.
func LoadZone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, loc)
	return loc, nil
}
