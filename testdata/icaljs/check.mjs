// Checks an iCalendar invite with ical.js, the parser behind many web
// calendars. Usage: node testdata/icaljs/check.mjs FILE
//
// Exits 1 with the reasons on stderr when the file does not parse or its one
// VEVENT lacks what an iTIP REQUEST or CANCEL needs; otherwise prints a JSON
// summary (uid, method, sequence, start, end in ISO UTC, status) for the Go
// test to compare with what it rendered. Exits 2 when ical.js is missing.
import { readFileSync } from 'node:fs';

let ICAL;
try {
  ICAL = (await import('ical.js')).default;
} catch (err) {
  console.error(`check.mjs: ical.js missing (${err.message}): run \`make test\` (scripts/test-deps.sh runs npm ci)`);
  process.exit(2);
}

function summarize(text) {
  const cal = new ICAL.Component(ICAL.parse(text));
  const problems = [];
  if (cal.name !== 'vcalendar') problems.push(`top-level component is ${cal.name}`);
  const method = cal.getFirstPropertyValue('method');
  if (method !== 'REQUEST' && method !== 'CANCEL') problems.push(`METHOD is ${method}`);
  const vevents = cal.getAllSubcomponents('vevent');
  if (vevents.length !== 1) problems.push(`want one VEVENT, got ${vevents.length}`);
  if (problems.length) return { problems };

  const event = new ICAL.Event(vevents[0]);
  const vevent = vevents[0];
  for (const name of ['uid', 'dtstamp', 'dtstart', 'dtend', 'organizer', 'attendee', 'status']) {
    if (!vevent.hasProperty(name)) problems.push(`VEVENT has no ${name.toUpperCase()}`);
  }
  for (const [name, t] of [['DTSTART', event.startDate], ['DTEND', event.endDate]]) {
    if (t && (t.isDate || t.zone !== ICAL.Timezone.utcTimezone)) problems.push(`${name} is not a UTC date-time`);
  }
  if (event.startDate && event.endDate && event.endDate.compare(event.startDate) <= 0) {
    problems.push('DTEND is not after DTSTART');
  }
  const status = vevent.getFirstPropertyValue('status');
  const wantStatus = method === 'CANCEL' ? 'CANCELLED' : 'CONFIRMED';
  if (status !== wantStatus) problems.push(`STATUS is ${status} for METHOD ${method}, want ${wantStatus}`);

  return {
    problems,
    summary: {
      uid: event.uid,
      method,
      sequence: event.sequence,
      start: event.startDate?.toJSDate().toISOString(),
      end: event.endDate?.toJSDate().toISOString(),
      status,
      attendees: event.attendees.map((a) => a.getFirstValue()),
    },
  };
}

const file = process.argv[2];
if (!file) {
  console.error('usage: node check.mjs FILE');
  process.exit(1);
}
let result;
try {
  result = summarize(readFileSync(file, 'utf8'));
} catch (err) {
  result = { problems: [`ical.js could not parse the file: ${err.message}`] };
}
if (result.problems.length) {
  console.error(`check.mjs: ${file} is not a valid invite:\n  ${result.problems.join('\n  ')}`);
  process.exit(1);
}
console.log(JSON.stringify(result.summary));
