// Checks a published iCalendar feed with ical.js, the parser behind many web
// calendars: the feed-mode sibling of check.mjs, for a calendar apps
// subscribe to rather than an invite. Usage: node testdata/icaljs/check_feed.mjs FILE
//
// Exits 1 with the reasons on stderr when the file does not parse, carries
// a METHOD other than PUBLISH, or an event lacks UID, DTSTAMP, UTC DTSTART
// and DTEND, SEQUENCE or a known STATUS, or names an ATTENDEE or ORGANIZER;
// otherwise prints a JSON summary (name, refresh, ttl, and each event's
// uid, sequence, status, start, end, summary, url) for the Go tests to
// compare. Exits 2 when ical.js is missing.
import { readFileSync } from 'node:fs';

let ICAL;
try {
  ICAL = (await import('ical.js')).default;
} catch (err) {
  console.error(`check_feed.mjs: ical.js missing (${err.message}): run \`make test\` (scripts/test-deps.sh runs npm ci)`);
  process.exit(2);
}

const STATUSES = ['CONFIRMED', 'TENTATIVE', 'CANCELLED'];

function eventProblems(vevent) {
  const problems = [];
  const uid = vevent.getFirstPropertyValue('uid');
  for (const name of ['uid', 'dtstamp', 'dtstart', 'dtend', 'sequence', 'status']) {
    if (!vevent.hasProperty(name)) problems.push(`VEVENT ${uid} has no ${name.toUpperCase()}`);
  }
  for (const name of ['attendee', 'organizer']) {
    if (vevent.hasProperty(name)) problems.push(`VEVENT ${uid} names an ${name.toUpperCase()}; a feed names no one`);
  }
  const event = new ICAL.Event(vevent);
  for (const [name, t] of [['DTSTART', event.startDate], ['DTEND', event.endDate]]) {
    if (t && (t.isDate || t.zone !== ICAL.Timezone.utcTimezone)) problems.push(`VEVENT ${uid} ${name} is not a UTC date-time`);
  }
  if (event.startDate && event.endDate && event.endDate.compare(event.startDate) <= 0) {
    problems.push(`VEVENT ${uid} DTEND is not after DTSTART`);
  }
  const status = vevent.getFirstPropertyValue('status');
  if (status && !STATUSES.includes(status)) problems.push(`VEVENT ${uid} STATUS is ${status}`);
  return problems;
}

function summarize(text) {
  const cal = new ICAL.Component(ICAL.parse(text));
  const problems = [];
  if (cal.name !== 'vcalendar') return { problems: [`top-level component is ${cal.name}`] };
  const method = cal.getFirstPropertyValue('method');
  if (method && method !== 'PUBLISH') problems.push(`METHOD is ${method}; a feed has none (or PUBLISH)`);
  const vevents = cal.getAllSubcomponents('vevent');
  for (const vevent of vevents) problems.push(...eventProblems(vevent));
  const value = (name) => {
    const v = cal.getFirstPropertyValue(name);
    return v === null ? null : String(v);
  };
  return {
    problems,
    summary: {
      method: method || null,
      name: value('x-wr-calname'),
      refresh: value('refresh-interval'),
      ttl: value('x-published-ttl'),
      events: vevents.map((vevent) => {
        const event = new ICAL.Event(vevent);
        return {
          uid: event.uid,
          sequence: event.sequence,
          status: vevent.getFirstPropertyValue('status'),
          start: event.startDate?.toJSDate().toISOString(),
          end: event.endDate?.toJSDate().toISOString(),
          summary: event.summary,
          url: vevent.getFirstPropertyValue('url'),
        };
      }),
    },
  };
}

const file = process.argv[2];
if (!file) {
  console.error('usage: node check_feed.mjs FILE');
  process.exit(1);
}
let result;
try {
  result = summarize(readFileSync(file, 'utf8'));
} catch (err) {
  result = { problems: [`ical.js could not parse the file: ${err.message}`] };
}
if (result.problems.length) {
  console.error(`check_feed.mjs: ${file} is not a valid feed:\n  ${result.problems.join('\n  ')}`);
  process.exit(1);
}
console.log(JSON.stringify(result.summary));
