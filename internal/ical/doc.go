// Package ical writes iCalendar (RFC 5545): invites as iTIP messages
// (RFC 5546) and published feeds. It holds no SQL and knows nothing of
// bookings: callers hand it plain values. Output always has CRLF line ends
// and lines folded at 75 octets.
package ical
