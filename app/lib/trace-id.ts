// Ids the browser gives its follows and live traces (protocol TraceId), unique within this page.
let n = 0;

export function newTraceId(kind: 'follow' | 'live'): string {
  return `${kind}-${Date.now().toString(36)}-${(++n).toString(36)}`;
}
