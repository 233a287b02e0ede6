import type { IncomingHttpHeaders } from "node:http";

const PREFIX = "x-tollgate-label-";
const NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/**
 * Free labels from `x-tollgate-label-<name>: <value>` headers, bounded in number and length so a client cannot
 * bloat the log. Extra labels are dropped (first come, first kept); long values are cut.
 */
export function extractLabels(
  headers: IncomingHttpHeaders,
  limits: { maxCount: number; maxValueLength: number },
): Record<string, string> {
  const labels: Record<string, string> = {};
  let count = 0;
  for (const name in headers) {
    if (!name.startsWith(PREFIX)) continue;
    const key = name.slice(PREFIX.length);
    if (!NAME.test(key) || count >= limits.maxCount) continue;
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw.join(",") : raw;
    if (value === undefined) continue;
    labels[key] = value.slice(0, limits.maxValueLength);
    count++;
  }
  return labels;
}
