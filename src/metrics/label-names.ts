/** The Prometheus name of an `x-tollgate-label-<name>` label: `label_<name>` with `.` and `-` as `_`. */
export function promLabelName(name: string): string {
  return `label_${name.replace(/[^a-zA-Z0-9_]/g, "_")}`;
}
