/**
 * C's strftime(3) in the "C" locale and local time, for `sub -F` (`@X` sequences, `%I`, the JSON
 * `tst`). Covers the glibc conversions; an unknown one is printed as written ("%Q"), as glibc does.
 */

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const pad = (n: number, width = 2, fill = '0') => String(n).padStart(width, fill);

/** Day of the year, 0-based. */
function yearDay(d: Date): number {
  return Math.round((Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(d.getFullYear(), 0, 1)) / 86_400_000);
}

/** ISO 8601 week-based year and week number. */
function isoWeek(d: Date): { year: number; week: number } {
  const t = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const start = Date.UTC(t.getUTCFullYear(), 0, 1);
  return { year: t.getUTCFullYear(), week: Math.ceil(((t.getTime() - start) / 86_400_000 + 1) / 7) };
}

/** The local offset as "+hhmm". */
function offset(d: Date): string {
  const minutes = -d.getTimezoneOffset();
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}

/** The local zone's abbreviation ("UTC", "CET"), as far as Intl knows it. */
function zoneName(d: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName');
  return part?.value ?? '';
}

/** getDay() is 0-6 and getMonth() 0-11, so the names are always found ('' for an Invalid Date). */
const dayName = (d: Date): string => DAYS[d.getDay()] ?? '';
const monthName = (d: Date): string => MONTHS[d.getMonth()] ?? '';

function conversion(c: string, d: Date): string | undefined {
  const hour12 = d.getHours() % 12 || 12;
  switch (c) {
    case 'a': return dayName(d).slice(0, 3);
    case 'A': return dayName(d);
    case 'b':
    case 'h': return monthName(d).slice(0, 3);
    case 'B': return monthName(d);
    case 'c': return strftime('%a %b %e %H:%M:%S %Y', d);
    case 'C': return pad(Math.floor(d.getFullYear() / 100));
    case 'd': return pad(d.getDate());
    case 'D': return strftime('%m/%d/%y', d);
    case 'e': return pad(d.getDate(), 2, ' ');
    case 'F': return strftime('%Y-%m-%d', d);
    case 'g': return pad(isoWeek(d).year % 100);
    case 'G': return String(isoWeek(d).year);
    case 'H': return pad(d.getHours());
    case 'I': return pad(hour12);
    case 'j': return pad(yearDay(d) + 1, 3);
    case 'k': return pad(d.getHours(), 2, ' ');
    case 'l': return pad(hour12, 2, ' ');
    case 'm': return pad(d.getMonth() + 1);
    case 'M': return pad(d.getMinutes());
    case 'n': return '\n';
    case 'p': return d.getHours() < 12 ? 'AM' : 'PM';
    case 'P': return d.getHours() < 12 ? 'am' : 'pm';
    case 'r': return strftime('%I:%M:%S %p', d);
    case 'R': return strftime('%H:%M', d);
    case 's': return String(Math.floor(d.getTime() / 1000));
    case 'S': return pad(d.getSeconds());
    case 't': return '\t';
    case 'T': return strftime('%H:%M:%S', d);
    case 'u': return String(d.getDay() || 7);
    case 'U': return pad(Math.floor((yearDay(d) + 7 - d.getDay()) / 7));
    case 'V': return pad(isoWeek(d).week);
    case 'w': return String(d.getDay());
    case 'W': return pad(Math.floor((yearDay(d) + 7 - ((d.getDay() + 6) % 7)) / 7));
    case 'x': return strftime('%m/%d/%y', d);
    case 'X': return strftime('%H:%M:%S', d);
    case 'y': return pad(d.getFullYear() % 100);
    case 'Y': return String(d.getFullYear());
    case 'z': return offset(d);
    case 'Z': return zoneName(d);
    case '%': return '%';
    default: return undefined;
  }
}

/** Formats `date` (local time) with a strftime `format`. */
export function strftime(format: string, date: Date): string {
  return format.replace(/%(.?)/gs, (whole, c: string) => conversion(c, date) ?? whole);
}
